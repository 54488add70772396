-- enqueue: records one upload and queues its job, or recognises it as already recorded.
-- ARGV: prefix events_maxlen id path size mtime_ms mime lane sha256 profile received_at now
--       error
-- lane is "" when no lane takes the MIME type. error is "" or why the dispatcher refused the
-- file before any lane saw it (empty, over max_input_bytes): the record is then failed with
-- that error, no job is queued and no content is deduplicated. Returns {code, id}: 0 queued,
-- 1 duplicate, 2 unsupported, 4 failed (id is the new record), 3 known (id is the record
-- already there).
local id, path, size, mtime = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local mime, lane, sha, profile = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local received, now, refused = ARGV[11], ARGV[12], ARGV[13] or ''

redis.call('HINCRBY', P .. 'stats', 'dispatcher:files_seen', 1)
local latest = redis.call('HGET', P .. 'paths', path)
if latest then
    local f = redis.call('HMGET', P .. 'file:' .. latest, 'size', 'mtime')
    if f[1] == size and f[2] == mtime then
        return {3, latest}
    end
end

local code, status, dup, err = 0, 'queued', '', ''
if refused ~= '' then
    code, status, err = 4, 'failed', refused
elseif sha ~= '' then
    -- Content is deduplicated per profile: the same bytes in another profile are other work
    -- (a photo done as an image, then dropped in inbox/ocr/ to be read). The default
    -- profile keeps the key it always had, sha:<sha256>; another profile uses
    -- sha:<profile>:<sha256>. An original counts only when its record has this profile: a
    -- record deleted by hand, or one of another profile under a key written before keys were
    -- per profile, is not pointed at, and this upload takes the key over.
    local function original(key)
        local first = redis.call('GET', key)
        if first and redis.call('HGET', P .. 'file:' .. first, 'profile') == profile then
            return first
        end
        return nil
    end
    local skey = P .. 'sha:' .. sha
    if profile ~= 'default' then
        skey = P .. 'sha:' .. profile .. ':' .. sha
    end
    local first = original(skey)
    if not first and profile ~= 'default' then
        first = original(P .. 'sha:' .. sha) -- written before keys were per profile
    end
    if first then
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
