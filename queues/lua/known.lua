-- known: 1 when path is recorded with the same size and mtime (a startup scan skips it).
-- ARGV: prefix events_maxlen(unused) path size mtime_ms
local latest = redis.call('HGET', P .. 'paths', ARGV[3])
if not latest then
    return 0
end
local f = redis.call('HMGET', P .. 'file:' .. latest, 'size', 'mtime')
if f[1] == ARGV[4] and f[2] == ARGV[5] then
    return 1
end
return 0
