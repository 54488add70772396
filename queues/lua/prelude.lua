-- Prepended to every script (see queues/CMakeLists.txt). Every script is called with
-- EVALSHA <sha> 0 <prefix> <events_maxlen> ...: no KEYS, because each one derives its keys
-- from the prefix (mediafleet targets a single, non-cluster Redis).
local P = ARGV[1]
local EVENTS_MAXLEN = ARGV[2]
local GROUP = 'workers'

-- Subscribers decode the PUBLISHed JSON with strict parsers, and paths are any bytes:
-- replace what is not UTF-8 with U+FFFD. ASCII, the usual case, returns at once.
local function mf_utf8(s)
    if not string.find(s, '[\128-\255]') then
        return s
    end
    local out, i, n = {}, 1, #s
    while i <= n do
        local c = string.byte(s, i)
        local len = 0
        if c < 0x80 then
            len = 1
        elseif c >= 0xC2 and c <= 0xDF then
            len = 2
        elseif c >= 0xE0 and c <= 0xEF then
            len = 3
        elseif c >= 0xF0 and c <= 0xF4 then
            len = 4
        end
        local ok = len > 0 and i + len - 1 <= n
        for j = i + 1, i + len - 1 do
            if not ok then
                break
            end
            local b = string.byte(s, j)
            ok = b >= 0x80 and b <= 0xBF
        end
        if ok and len > 2 then
            -- no overlong forms, no surrogates, nothing above U+10FFFF
            local c2 = string.byte(s, i + 1)
            ok = not ((c == 0xE0 and c2 < 0xA0) or (c == 0xED and c2 > 0x9F) or
                      (c == 0xF0 and c2 < 0x90) or (c == 0xF4 and c2 > 0x8F))
        end
        if ok then
            out[#out + 1] = string.sub(s, i, i + len - 1)
            i = i + len
        else
            out[#out + 1] = '\239\191\189'
            i = i + 1
        end
    end
    return table.concat(out)
end

local MF_NUMERIC = {attempts = true, process_duration_ms = true, size = true}

-- One event per state change: an entry in the capped <prefix>events stream and the same
-- fields as a JSON object on the <prefix>events channel. fields is k1, v1, k2, v2, ...
local function mf_event(fields)
    redis.call('XADD', P .. 'events', 'MAXLEN', '~', EVENTS_MAXLEN, '*', unpack(fields))
    local obj = {}
    for i = 1, #fields, 2 do
        local k, v = fields[i], fields[i + 1]
        if MF_NUMERIC[k] and tonumber(v) then
            obj[k] = tonumber(v)
        else
            obj[k] = mf_utf8(v)
        end
    end
    redis.call('PUBLISH', P .. 'events', cjson.encode(obj))
end

-- 1 while the job's entry is still pending in the group, i.e. not yet settled. A worker
-- whose job was reclaimed after the visibility timeout and then finished elsewhere must not
-- put the record back to queued, processing or failed: nothing would ever claim it again.
local function mf_pending(q, entry)
    return #redis.call('XPENDING', q, GROUP, entry, entry, 1) > 0
end

-- Acknowledges a job and deletes its entry: acknowledged entries are never read again, and
-- deleting them keeps the lane stream as small as its backlog (job streams are never trimmed).
local function mf_ack(q, entry)
    redis.call('XACK', q, GROUP, entry)
    redis.call('XDEL', q, entry)
end


-- Counters for /metrics and status (HASH <prefix>stats; field names in queues/include/mf/
-- queue.h), kept by the scripts that change a record's state so reading them never needs a
-- SCAN over records. records:<lane>:<status> moves a record from one status to another;
-- from or to may be nil (a new record; a record left alone).
local function mf_stat_status(lane, from, to)
    local s = P .. 'stats'
    if from and from ~= '' then
        redis.call('HINCRBY', s, 'records:' .. lane .. ':' .. from, -1)
    end
    if to then
        redis.call('HINCRBY', s, 'records:' .. lane .. ':' .. to, 1)
    end
end

-- Upper bounds (ms) of the job duration histogram buckets: MF_QUEUE_STATS_BUCKETS_MS.
local MF_BUCKETS_MS = {100, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 1800000}

-- One delivery ended: outcome done, failed (final) or retried; its duration goes into the
-- lane's histogram (cumulative buckets, as Prometheus reads them).
local function mf_stat_finished(lane, outcome, duration_ms)
    local s = P .. 'stats'
    redis.call('HINCRBY', s, 'finished:' .. lane .. ':' .. outcome, 1)
    local d = tonumber(duration_ms)
    if not d or d < 0 then
        return
    end
    d = math.floor(d)
    for _, b in ipairs(MF_BUCKETS_MS) do
        if d <= b then
            redis.call('HINCRBY', s, 'duration:' .. lane .. ':le_ms:' .. b, 1)
        end
    end
    redis.call('HINCRBY', s, 'duration:' .. lane .. ':count', 1)
    redis.call('HINCRBY', s, 'duration:' .. lane .. ':sum_ms', d)
end
