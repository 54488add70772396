-- start: a worker begins a delivery. ARGV: prefix events_maxlen id lane entry consumer now
-- Returns the attempts so far including this one; 0 when the record is gone (a record must
-- never be recreated half empty) and -1 when the job was settled by another worker
-- meanwhile. Nothing is written in either case.
local id, lane, entry, consumer, now = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local fkey = P .. 'file:' .. id
if redis.call('EXISTS', fkey) == 0 then
    return 0
end
if not mf_pending(P .. 'q:' .. lane, entry) then
    return -1
end
local attempts = redis.call('HINCRBY', fkey, 'attempts', 1)
mf_stat_status(lane, redis.call('HGET', fkey, 'status'), 'processing')
redis.call('HSET', fkey, 'status', 'processing', 'started_at', now, 'worker', consumer,
           'finished_at', '')
mf_event({'id', id, 'status', 'processing', 'type', lane,
          'path', redis.call('HGET', fkey, 'path') or '', 'attempts', tostring(attempts),
          'worker', consumer})
return attempts
