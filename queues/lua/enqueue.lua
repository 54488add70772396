-- enqueue: records one upload and queues its job, or recognises it as already recorded.
-- ARGV: prefix events_maxlen id path size mtime_ms mime lane sha256 profile received_at now
-- lane is "" when no lane takes the MIME type. Returns {code, id}: 0 queued, 1 duplicate,
-- 2 unsupported (id is the new record), 3 known (id is the record already there).
local id, path, size, mtime = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local mime, lane, sha, profile = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local received, now = ARGV[11], ARGV[12]

redis.call('HINCRBY', P .. 'stats', 'dispatcher:files_seen', 1)
local latest = redis.call('HGET', P .. 'paths', path)
if latest then
    local f = redis.call('HMGET', P .. 'file:' .. latest, 'size', 'mtime')
    if f[1] == size and f[2] == mtime then
        return {3, latest}
    end
end

local code, status, dup, err = 0, 'queued', '', ''
if sha ~= '' then
    local skey = P .. 'sha:' .. sha
    local first = redis.call('GET', skey)
    -- an original whose record was deleted cannot be pointed at: this upload takes over
    if first and redis.call('EXISTS', P .. 'file:' .. first) == 1 then
        code, status, dup = 1, 'duplicate', first
    else
        redis.call('SET', skey, id)
    end
end
if code == 0 and lane == '' then
    code, status = 2, 'unsupported'
    err = 'no lane handles ' .. (mime ~= '' and mime or 'this file type')
end

local queued_at, finished_at = now, ''
if code ~= 0 then
    queued_at, finished_at = '', now
end
local ftype = lane ~= '' and lane or 'other'
redis.call('HSET', P .. 'file:' .. id, 'id', id, 'path', path, 'size', size, 'mtime', mtime,
           'mime', mime, 'type', ftype, 'sha256', sha, 'profile', profile, 'status', status,
           'received_at', received, 'queued_at', queued_at, 'started_at', '',
           'finished_at', finished_at, 'process_duration_ms', '', 'attempts', '0',
           'worker', '', 'outputs', '[]', 'meta', '{}', 'error', err, 'duplicate_of', dup)
if code == 0 then
    local q = P .. 'q:' .. lane
    -- XGROUP CREATE ... $ by a worker started later would skip jobs queued before it: the
    -- first job of a lane creates the group at the start of the stream
    if redis.call('EXISTS', q) == 0 then
        redis.call('XGROUP', 'CREATE', q, GROUP, '0', 'MKSTREAM')
    end
    redis.call('XADD', q, '*', 'id', id)
end
redis.call('HSET', P .. 'paths', path, id)
redis.call('HINCRBY', P .. 'stats', 'dispatcher:files_recorded', 1)
mf_stat_status(ftype, nil, status)

local ev = {'id', id, 'status', status, 'type', ftype, 'path', path}
if dup ~= '' then
    ev[#ev + 1] = 'duplicate_of'
    ev[#ev + 1] = dup
end
if err ~= '' then
    ev[#ev + 1] = 'error'
    ev[#ev + 1] = err
end
mf_event(ev)
return {code, id}
