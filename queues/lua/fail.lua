-- fail: a delivery failed. ARGV: prefix events_maxlen id lane entry consumer error retryable
-- max_attempts visibility_ms retry_backoff_ms now duration_ms crash max_crashes
-- A retryable error with attempts left goes back to queued; the entry stays pending with an
-- idle time set so XAUTOCLAIM (min idle = visibility) hands it out again once the back-off
-- has passed. Anything else is final: failed, copied to the DLQ, acknowledged. A crash (the
-- executor died of a signal while processing) is counted in the record's `crashes`: the
-- max_crashes-th one is final whatever attempts are left (0: no such limit).
-- Returns 1 when final, 0 when it will be retried, -1 when the job was settled by another
-- worker meanwhile (nothing written).
local id, lane, entry, consumer, err = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local retryable, max_attempts = ARGV[8] == '1', tonumber(ARGV[9])
local visibility, backoff = tonumber(ARGV[10]), tonumber(ARGV[11])
local now, duration = ARGV[12], ARGV[13]
local crash, max_crashes = ARGV[14] == '1', tonumber(ARGV[15]) or 0
local fkey, q = P .. 'file:' .. id, P .. 'q:' .. lane

if not mf_pending(q, entry) then
    return -1
end
if redis.call('EXISTS', fkey) == 0 then
    mf_ack(q, entry)
    return 1
end
local attempts = tonumber(redis.call('HGET', fkey, 'attempts')) or 0
local path = redis.call('HGET', fkey, 'path')
redis.call('HDEL', fkey, 'progress', 'eta_s') -- a next attempt starts from 0
if crash then
    local crashes = redis.call('HINCRBY', fkey, 'crashes', 1)
    if max_crashes > 0 and crashes >= max_crashes then
        retryable = false
        err = string.format('%s; the file crashed the executor %d times: not retried again',
                            err, crashes)
    end
end

if retryable and attempts < max_attempts then
    local delay = backoff * 2 ^ math.max(attempts - 1, 0)
    if delay > visibility then
        delay = visibility
    end
    local idle = string.format('%d', visibility - delay)
    mf_stat_status(lane, redis.call('HGET', fkey, 'status'), 'queued')
    mf_stat_finished(lane, 'retried', duration)
    redis.call('HSET', fkey, 'status', 'queued', 'error', err, 'worker', '')
    redis.call('XCLAIM', q, GROUP, consumer, 0, entry, 'IDLE', idle, 'JUSTID')
    mf_event({'id', id, 'status', 'queued', 'type', lane, 'path', path, 'error', err,
              'attempts', tostring(attempts)})
    return 0
end

mf_stat_status(lane, redis.call('HGET', fkey, 'status'), 'failed')
mf_stat_finished(lane, 'failed', duration)
redis.call('HSET', fkey, 'status', 'failed', 'error', err, 'finished_at', now,
           'process_duration_ms', duration)
redis.call('XADD', P .. 'dlq:' .. lane, '*', 'id', id, 'error', err, 'attempts',
           tostring(attempts), 'entry', entry)
mf_ack(q, entry)
mf_event({'id', id, 'status', 'failed', 'type', lane, 'path', path, 'error', err,
          'attempts', tostring(attempts), 'process_duration_ms', duration})
return 1
