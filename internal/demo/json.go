package demo

import "strconv"

// The generator writes JSON by appending to byte slices: it has to produce
// millions of events for the benchmarks, and encoding/json with maps would
// neither be fast enough nor keep the SDK's key order.

const hexDigits = "0123456789abcdef"

// appendStr appends s as a JSON string. Non-ASCII text is kept as UTF-8, as
// the SDK (JSON.stringify) sends it.
func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendKey appends ,"k": — every fragment starts with its comma so that
// fragments can be concatenated after a first key.
func appendKey(b []byte, k string) []byte {
	b = append(b, ',')
	b = appendStr(b, k)
	return append(b, ':')
}

func appendKStr(b []byte, k, v string) []byte {
	return appendStr(appendKey(b, k), v)
}

func appendKInt(b []byte, k string, v int64) []byte {
	return strconv.AppendInt(appendKey(b, k), v, 10)
}

func appendKBool(b []byte, k string, v bool) []byte {
	return strconv.AppendBool(appendKey(b, k), v)
}

// appendYuan writes an amount in fen as the SDK's yuan number: 4990 → 49.9,
// 3000 → 30.
func appendYuan(b []byte, fen int64) []byte {
	return strconv.AppendFloat(b, float64(fen)/100, 'f', -1, 64)
}

func appendKYuan(b []byte, k string, fen int64) []byte {
	return appendYuan(appendKey(b, k), fen)
}

// appendUUID appends a version-4-shaped UUID made of two random words.
func appendUUID(b []byte, hi, lo uint64) []byte {
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	var raw [16]byte
	for i := range 8 {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// sdkID is the SDK's id format for tracking_id and local_id:
// <ms timestamp>-<uuid>.
func sdkID(ms int64, hi, lo uint64) string {
	b := make([]byte, 0, 50)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, '-')
	return string(appendUUID(b, hi, lo))
}

const lowerAlnum = "0123456789abcdefghijklmnopqrstuvwxyz"

// openIDAlphabet is what WeChat openids and unionids are made of.
const openIDAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"

// wxID is a 28-character openid/unionid-shaped string starting with 'o'.
func wxID(x uint64) string {
	b := make([]byte, 28)
	b[0] = 'o'
	for i := 1; i < len(b); i++ {
		if (i-1)%10 == 0 {
			x = mix(x)
		}
		b[i] = openIDAlphabet[x&63]
		x >>= 6
	}
	return string(b)
}

// gdtVid is a click id of the observed shape: wx + 16 lowercase letters or
// digits.
func gdtVid(x uint64) string {
	b := make([]byte, 18)
	b[0], b[1] = 'w', 'x'
	x = mix(x)
	y := mix(x)
	for i := 2; i < 18; i++ {
		if i == 10 {
			x = y
		}
		b[i] = lowerAlnum[x%36]
		x /= 36
	}
	return string(b)
}

// md5Hex-shaped 32 hex characters, for the SDK's share-depth ids.
func hex32(a, b uint64) string {
	out := make([]byte, 32)
	for i := range 16 {
		out[i] = hexDigits[(a>>(60-4*i))&0xf]
		out[16+i] = hexDigits[(b>>(60-4*i))&0xf]
	}
	return string(out)
}

// mix is SplitMix64's finaliser: a cheap, well-spread hash of a word, used to
// derive per-user and per-day values without keeping them.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit maps a hash to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }
