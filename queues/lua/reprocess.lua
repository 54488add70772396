-- reprocess: a done file runs again (after a settings change or an upgrade): status queued,
-- attempts 0, a new job on its lane, one event. The record keeps its id, outputs and meta
-- until the new run replaces them.
-- ARGV: prefix events_maxlen id now
-- Returns {1} when queued, {-1} for no record, {-2, status} when the status is not done.
local id, now = ARGV[3], ARGV[4]
local fkey = P .. 'file:' .. id
local f = redis.call('HMGET', fkey, 'status', 'type', 'path')
if not f[1] then
    return {-1}
end
if f[1] ~= 'done' then
    return {-2, f[1]}
end
local lane = f[2]
local q = P .. 'q:' .. lane
if redis.call('EXISTS', q) == 0 then
    redis.call('XGROUP', 'CREATE', q, GROUP, '0', 'MKSTREAM')
end
mf_stat_status(lane, 'done', 'queued')
redis.call('HSET', fkey, 'status', 'queued', 'attempts', '0', 'error', '', 'queued_at', now,
           'started_at', '', 'worker', '')
redis.call('HDEL', fkey, 'progress', 'eta_s')
redis.call('XADD', q, '*', 'id', id)
mf_event({'id', id, 'status', 'queued', 'type', lane, 'path', f[3] or '', 'reprocess', '1'})
return {1}
