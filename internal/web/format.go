package web

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// empty stands for a missing value (SQL NULL) in the table.
const empty = "–"

// number reads a cell as a number, whatever numeric type the store's driver
// produced (and json.Number, for results that went through JSON).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint8:
		return float64(x), true
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return float64(x), true
	case *big.Int:
		if x == nil {
			return 0, false
		}
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		// Some drivers return DECIMAL as text.
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	case fmt.Stringer:
		// DECIMAL types of drivers print as their number.
		f, err := strconv.ParseFloat(x.String(), 64)
		return f, err == nil
	}
	return 0, false
}

// numeric tells whether a column type is drawn on a value axis.
func numeric(typ string) bool {
	switch typ {
	case "int", "fen", "ratio", "ms":
		return true
	}
	return false
}

// cell formats one value for the table, by its column's type: fen as yuan
// with 2 decimals, ratio as a percentage, ms as hours, minutes and
// seconds, int with thousands separators.
func cell(lang, typ string, v any) string {
	if v == nil {
		return empty
	}
	switch typ {
	case "int":
		if f, ok := number(v); ok {
			return groupThousands(strconv.FormatFloat(math.Round(f), 'f', 0, 64))
		}
	case "fen":
		if f, ok := number(v); ok {
			return yuan(f)
		}
	case "ratio":
		if f, ok := number(v); ok {
			return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
		}
	case "ms":
		if f, ok := number(v); ok {
			return duration(lang, f)
		}
	}
	s := fmt.Sprint(v)
	if s == "" {
		return empty
	}
	return s
}

// yuan formats fen as ¥1,234.56.
func yuan(fen float64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	s := strconv.FormatFloat(math.Round(fen)/100, 'f', 2, 64)
	return sign + "¥" + groupThousands(s)
}

// groupThousands puts commas in the integer part of a decimal number.
func groupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if len(intPart) <= 3 {
		return sign + s
	}
	var b strings.Builder
	head := len(intPart) % 3
	if head > 0 {
		b.WriteString(intPart[:head])
	}
	for i := head; i < len(intPart); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(intPart[i : i+3])
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return sign + b.String()
}

// duration writes milliseconds as a person reads a time span: 33.6 s,
// 12 min 5 s, 9 h 20 min (秒, 分, 小时 in Chinese), rounded to the
// smallest unit shown.
func duration(lang string, ms float64) string {
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	const sep = " "
	s := ms / 1000
	switch {
	case math.Round(s*10)/10 < 60:
		return sign + strconv.FormatFloat(math.Round(s*10)/10, 'f', 1, 64) + sep + t(lang, "unit_s")
	case math.Round(s) < 3600:
		n := int64(math.Round(s))
		return sign + strconv.FormatInt(n/60, 10) + sep + t(lang, "unit_min") + " " + strconv.FormatInt(n%60, 10) + sep + t(lang, "unit_s")
	}
	n := int64(math.Round(s / 60))
	return sign + groupThousands(strconv.FormatInt(n/60, 10)) + sep + t(lang, "unit_h") + " " + strconv.FormatInt(n%60, 10) + sep + t(lang, "unit_min")
}
