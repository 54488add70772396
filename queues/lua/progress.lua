-- progress: how far a running job is. Written only while the delivery is still ours and
-- the record is processing, and only upwards: progress of one job never goes down.
-- ARGV: prefix events_maxlen id lane entry progress eta_s
-- Returns 1 when written, 0 when not.
local id, lane, entry = ARGV[3], ARGV[4], ARGV[5]
local progress, eta = tonumber(ARGV[6]), ARGV[7]
local fkey = P .. 'file:' .. id
local f = redis.call('HMGET', fkey, 'status', 'progress')
if f[1] ~= 'processing' or not mf_pending(P .. 'q:' .. lane, entry) then
    return 0
end
if f[2] and tonumber(f[2]) and tonumber(f[2]) > progress then
    return 0
end
redis.call('HSET', fkey, 'progress', tostring(progress), 'eta_s', eta)
return 1
