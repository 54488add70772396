-- release: a draining worker hands its job back without counting the delivery. The entry
-- stays pending but looks idle for the whole visibility timeout, so the next XAUTOCLAIM by
-- any worker takes it at once.
-- ARGV: prefix events_maxlen id lane entry consumer visibility_ms
-- Returns 1, 0 when the record is gone, -1 when the job was already settled.
local id, lane, entry, consumer, visibility = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local fkey, q = P .. 'file:' .. id, P .. 'q:' .. lane
if not mf_pending(q, entry) then
    return -1 -- settled by another worker meanwhile: nothing to hand back
end
redis.call('XCLAIM', q, GROUP, consumer, 0, entry, 'IDLE', visibility, 'JUSTID')
if redis.call('EXISTS', fkey) == 0 then
    return 0
end
if (tonumber(redis.call('HGET', fkey, 'attempts')) or 0) > 0 then
    redis.call('HINCRBY', fkey, 'attempts', -1)
end
mf_stat_status(lane, redis.call('HGET', fkey, 'status'), 'queued')
redis.call('HSET', fkey, 'status', 'queued', 'worker', '')
redis.call('HDEL', fkey, 'progress', 'eta_s') -- the next delivery starts from 0
mf_event({'id', id, 'status', 'queued', 'type', lane, 'path', redis.call('HGET', fkey, 'path')})
return 1
