-- done: the job succeeded; outputs and meta are written and the job acknowledged together.
-- ARGV: prefix events_maxlen id lane entry outputs_json meta_json now duration_ms
-- Returns 1, or 0 when the record is gone (the job is acknowledged all the same).
local id, lane, entry = ARGV[3], ARGV[4], ARGV[5]
local outputs, meta, now, duration = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local fkey = P .. 'file:' .. id
mf_ack(P .. 'q:' .. lane, entry)
if redis.call('EXISTS', fkey) == 0 then
    return 0
end
mf_stat_status(lane, redis.call('HGET', fkey, 'status'), 'done')
mf_stat_finished(lane, 'done', duration)
redis.call('HSET', fkey, 'status', 'done', 'outputs', outputs, 'meta', meta,
           'finished_at', now, 'process_duration_ms', duration, 'error', '', 'progress', '100')
redis.call('HDEL', fkey, 'eta_s')
mf_event({'id', id, 'status', 'done', 'type', lane, 'path', redis.call('HGET', fkey, 'path'),
          'process_duration_ms', duration})
return 1
