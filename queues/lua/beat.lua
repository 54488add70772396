-- beat: a worker says it is alive. The registry is a HASH per worker that expires unless
-- renewed (so a dead worker drops out by itself) and a ZSET index by last beat (so readers
-- list workers without SCANning the keyspace). Also answers whether the lane is paused.
-- ARGV: prefix events_maxlen member lane host pid version job path since started_at
--       now_ms ttl_ms
-- Returns 1 when the lane is paused (the worker claims nothing new), else 0.
local member, lane, host, pid, version = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local job, path, since, started = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local now, ttl = tonumber(ARGV[12]), tonumber(ARGV[13])
local key = P .. 'worker:' .. member
redis.call('HSET', key, 'host', host, 'pid', pid, 'lane', lane, 'version', version, 'job', job,
           'path', path, 'since', since, 'started_at', started, 'beat_ms', tostring(now))
redis.call('PEXPIRE', key, ttl)
redis.call('ZADD', P .. 'workers', now, member)
-- members of workers that died long ago: their HASH expired, the index entry goes too
redis.call('ZREMRANGEBYSCORE', P .. 'workers', '-inf', now - 10 * ttl)
return redis.call('SISMEMBER', P .. 'paused', lane)
