package event

import "encoding/json"

// A JSON scanner for events: checkValue checks a value (what
// encoding/json.Valid accepts, and its nesting), the parser's walk checks
// an event's envelope and props as it reads them, and the helpers after
// checkLiteral read bytes that were checked and trust them. Decoding into
// maps of json.RawMessage and re-reading every value cost several passes
// and dozens of allocations an event (BENCHMARKS.md, "Parse in one pass").

// jsonSpace is JSON's whitespace: not unicode.IsSpace, and not \v or \f.
func jsonSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// strPlain marks the bytes a JSON string may hold as they are: not a
// control character, a quote or a backslash.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func skipSpace(b []byte, i int) int {
	for i < len(b) && jsonSpace(b[i]) {
		i++
	}
	return i
}

// maxNesting is encoding/json's own bound on nesting: Valid refuses a
// text nested deeper.
const maxNesting = 10000

// checkJSON reports whether b is one JSON text, exactly as encoding/json.Valid
// does (RFC 8259; bytes in strings are not checked as UTF-8), and whether it
// stopped at a level deeper than maxDepth (at most maxNesting), which no
// syntax error came before. It never reads past b.
func checkJSON(b []byte, maxDepth int) (ok, tooDeep bool) {
	end, ok, tooDeep := checkValue(b, skipSpace(b, 0), maxDepth)
	return ok && skipSpace(b, end) == len(b), tooDeep
}

// checkValue is checkJSON for the value at b[i], which may be followed by
// anything; it returns the index after the value.
func checkValue(b []byte, i, maxDepth int) (end int, ok, tooDeep bool) {
	// One bit a level, set for an object: the first 64 on the stack.
	var first [1]uint64
	stack := first[:]
	n := 0
	object := func() bool { return stack[(n-1)>>6]>>((n-1)&63)&1 == 1 }
	// Each turn reads one value, then the commas, colons and closing
	// brackets up to the next value.
	for {
		if i >= len(b) {
			return 0, false, false
		}
		switch c := b[i]; c {
		case '{', '[':
			if n == maxDepth {
				return 0, false, true
			}
			if n>>6 == len(stack) {
				stack = append(stack, 0)
			}
			if c == '{' {
				stack[n>>6] |= 1 << (n & 63)
			} else {
				stack[n>>6] &^= 1 << (n & 63)
			}
			n++
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == c+2 { // '}' or ']': empty
				n--
				i++
				break
			}
			if c == '{' {
				if i = checkKey(b, i); i < 0 {
					return 0, false, false
				}
			}
			continue
		case '"':
			if i = checkString(b, i); i < 0 {
				return 0, false, false
			}
		case 't':
			if i = checkLiteral(b, i, "true"); i < 0 {
				return 0, false, false
			}
		case 'f':
			if i = checkLiteral(b, i, "false"); i < 0 {
				return 0, false, false
			}
		case 'n':
			if i = checkLiteral(b, i, "null"); i < 0 {
				return 0, false, false
			}
		default:
			if i = checkNumber(b, i); i < 0 {
				return 0, false, false
			}
		}
		// After a value: close levels, or a comma and the next member.
		for {
			if n == 0 {
				return i, true, false
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return 0, false, false
			}
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
				if object() {
					if i = checkKey(b, i); i < 0 {
						return 0, false, false
					}
				}
			case '}':
				if !object() {
					return 0, false, false
				}
				n--
				i++
				continue
			case ']':
				if object() {
					return 0, false, false
				}
				n--
				i++
				continue
			default:
				return 0, false, false
			}
			break
		}
	}
}

// checkKey checks an object key and its colon at b[i]; it returns the
// index of the value (after space), or -1.
func checkKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = checkString(b, i); i < 0 {
		return -1
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipSpace(b, i+1)
}

// checkString checks the string starting at b[i] == '"' and returns the
// index after its closing quote, or -1.
func checkString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		if strPlain[b[i]] {
			continue
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return -1
				}
				i += 4
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// checkNumber checks the number at b[i] (RFC 8259 grammar) and returns the
// index after it, or -1. What follows is the caller's to check.
func checkNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	return i
}

func checkLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// The helpers below read JSON that checkJSON accepted. On other bytes
// they do not panic: a value that runs past the end ends at len(b)
// (SplitChecked relies on that).

// stringEnd returns the index after the closing quote of the string at
// b[i] == '"', and whether the string holds escapes.
func stringEnd(b []byte, i int) (end int, escaped bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1, escaped
		case '\\':
			escaped = true
			i++ // the escaped byte; \uXXXX's digits are plain
		}
	}
	return len(b), escaped
}

// valueEnd returns the index after the value at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i, _ = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// appendCompact appends the checked value v without the whitespace between
// its tokens, as json.Compact does.
func appendCompact(dst, v []byte) []byte {
	start := 0
	for i := 0; i < len(v); {
		switch v[i] {
		case '"':
			i, _ = stringEnd(v, i)
		case ' ', '\t', '\n', '\r':
			dst = append(dst, v[start:i]...)
			i = skipSpace(v, i)
			start = i
		default:
			i++
		}
	}
	return append(dst, v[start:]...)
}

// member is one member of a checked JSON object.
type member struct {
	key []byte // as sent between the quotes, until unescapeKeys
	val []byte // the value as sent
	esc bool   // key holds escapes
}

// members appends the members of the checked object at b[i] == '{' to ms,
// in the order sent, keys as sent; it returns ms and the index after
// the object.
func members(ms []member, b []byte, i int) ([]member, int) {
	i = skipSpace(b, i+1)
	if b[i] == '}' {
		return ms, i + 1
	}
	for {
		ke, esc := stringEnd(b, i)
		m := member{key: b[i+1 : ke-1], esc: esc}
		i = skipSpace(b, ke)  // at ':'
		i = skipSpace(b, i+1) // at the value
		end := valueEnd(b, i)
		m.val = b[i:end]
		ms = append(ms, m)
		i = skipSpace(b, end)
		if b[i] == '}' {
			return ms, i + 1
		}
		i = skipSpace(b, i+1) // after ','
	}
}

// elements appends the elements of the checked array at b[i] == '[' to
// vs and returns vs and the index after the array.
func elements(vs [][]byte, b []byte, i int) ([][]byte, int) {
	i = skipSpace(b, i+1)
	if b[i] == ']' {
		return vs, i + 1
	}
	for {
		end := valueEnd(b, i)
		vs = append(vs, b[i:end])
		i = skipSpace(b, end)
		if b[i] == ']' {
			return vs, i + 1
		}
		i = skipSpace(b, i+1)
	}
}

// SplitBatch checks an upload's body exactly as encoding/json.Valid does,
// in a fraction of its time, and returns the elements of a body that is a
// JSON array as sent: slices of body, without the space around them (as
// decoding into []json.RawMessage gives, without the copies). ok is false
// when body is not one JSON text; a valid body that is no array has no
// elements.
func SplitBatch(body []byte) (elems []json.RawMessage, ok bool) {
	if ok, _ := checkJSON(body, maxNesting); !ok {
		return nil, false
	}
	// A checked array always splits; any other JSON text has no elements.
	elems, _ = SplitChecked(body)
	return elems, true
}

// SplitChecked splits a JSON array SplitBatch has accepted before without
// checking it again (an upload read back from the intake log, which was
// checked before it was logged); SplitBatch splits with it once checked.
// ok is false when body is not an array whose elements it can delimit
// (it then never panics), and the caller checks the body in full.
func SplitChecked(body []byte) (elems []json.RawMessage, ok bool) {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '[' {
		return nil, false
	}
	elems = make([]json.RawMessage, 0, 16)
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == ']' {
		return elems, skipSpace(body, i+1) == len(body)
	}
	for i < len(body) {
		end := valueEnd(body, i)
		if end == i {
			return nil, false // a separator where a value belongs
		}
		elems = append(elems, body[i:end:end])
		if i = skipSpace(body, end); i == len(body) {
			return nil, false
		}
		switch body[i] {
		case ']':
			return elems, skipSpace(body, i+1) == len(body)
		case ',':
			i = skipSpace(body, i+1)
		default:
			return nil, false
		}
	}
	return nil, false
}
