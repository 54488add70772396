-- neardup: indexes an image's 64-bit perceptual hash and finds the images indexed before it
-- within max_bits of it (Hamming distance), in one atomic step: of two near-duplicates
-- finished at the same moment, the second to run always sees the first.
--
-- Multi-index hashing, no scan: the hash is cut into 4 bands of 16 bits, and each band value
-- is a bucket HASH <prefix>phash:<band>:<4 hex> with field = id, value = "<16 hex>:<seq>"
-- (small HASHes stay listpacks: about 45 bytes an entry). seq (from INCR <prefix>phash:seq)
-- orders the images: only those indexed before this one are listed, so running the script
-- again for the same id (a retry) returns the same list and writes nothing new.
-- A lookup probes, per band, the bucket of the band's value and its 16 one-bit variants
-- (68 probes; an empty bucket costs one HLEN). When two hashes are at most 7 bits apart, one of the 4 bands
-- differs by at most 1 bit (pigeonhole), so every one of them is found.
-- A bucket holding more than bucket_cap entries (flat or uniform images all hash alike) is
-- read only in part: its first bucket_cap entries in HSCAN order, so the cost stays bounded
-- and some near-duplicates in such a bucket may be missed.
-- ARGV: prefix events_maxlen(unused) id phash max_bits bucket_cap list_cap
-- phash is 16 lowercase hex digits, max_bits 0..7. Returns {id, distance, id, distance, ...}
-- sorted by distance then id, at most list_cap pairs.
local id, hash = ARGV[3], ARGV[4]
local max_bits, bucket_cap, list_cap = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if #hash ~= 16 or string.find(hash, '[^0-9a-f]') then
    return redis.error_reply('ERR neardup: phash must be 16 lowercase hex digits')
end
if not max_bits or max_bits < 0 or max_bits > 7 then
    return redis.error_reply('ERR neardup: max_bits must be 0..7')
end

local function bucket(b, band)
    return P .. 'phash:' .. b .. ':' .. band
end

-- This id's entry: the same hash already indexed means a re-run, which keeps its seq.
local value = redis.call('HGET', bucket(0, string.sub(hash, 1, 4)), id)
local seq
if value and string.sub(value, 1, 17) == hash .. ':' then
    seq = tonumber(string.sub(value, 18))
else
    seq = redis.call('INCR', P .. 'phash:seq')
    value = hash .. ':' .. seq
end
for b = 0, 3 do
    redis.call('HSET', bucket(b, string.sub(hash, 4 * b + 1, 4 * b + 4)), id, value)
end

-- Hamming distance to this hash of a stored value: two 32-bit halves (the bit library works
-- on 32 bits), each counted with the SWAR popcount (no table to build on every call).
local band, rshift, bxor = bit.band, bit.rshift, bit.bxor
local function popcount(x)
    x = x - band(rshift(x, 1), 0x55555555)
    x = band(x, 0x33333333) + band(rshift(x, 2), 0x33333333)
    x = band(x + rshift(x, 4), 0x0F0F0F0F)
    x = x + rshift(x, 8)
    x = x + rshift(x, 16)
    return band(x, 0x3F)
end
local HI, LO = tonumber(string.sub(hash, 1, 8), 16), tonumber(string.sub(hash, 9, 16), 16)
local function distance(v)
    local hi, lo = tonumber(string.sub(v, 1, 8), 16), tonumber(string.sub(v, 9, 16), 16)
    if not hi or not lo then
        return 65
    end
    return popcount(bxor(hi, HI)) + popcount(bxor(lo, LO))
end

local seen, found = {[id] = true}, {}
local function consider(kv)
    for i = 1, math.min(#kv, 2 * bucket_cap), 2 do
        local other, v = kv[i], kv[i + 1]
        if not seen[other] then
            seen[other] = true
            local oseq = tonumber(string.sub(v, 18))
            if oseq and oseq < seq then
                local d = distance(v)
                if d <= max_bits then
                    found[#found + 1] = {other, d}
                end
            end
        end
    end
end

for b = 0, 3 do
    local v = tonumber(string.sub(hash, 4 * b + 1, 4 * b + 4), 16)
    for flip = -1, 15 do
        local key = bucket(b, string.format('%04x', flip < 0 and v or
                                                   bxor(v, bit.lshift(1, flip))))
        -- HLEN first: most probes find an empty bucket, and it bounds what is read. A hash
        -- table over the cap is read by its first HSCAN cursor step: about bucket_cap entries.
        local n = redis.call('HLEN', key)
        if n > bucket_cap then
            consider(redis.call('HSCAN', key, 0, 'COUNT', bucket_cap)[2])
        elseif n > 0 then
            consider(redis.call('HGETALL', key))
        end
    end
end

table.sort(found, function(x, y)
    if x[2] ~= y[2] then
        return x[2] < y[2]
    end
    return x[1] < y[1]
end)
local out = {}
for i = 1, math.min(#found, list_cap) do
    out[#out + 1] = found[i][1]
    out[#out + 1] = found[i][2]
end
return out
