package server

import "strconv"

// CSVCell makes one value safe to open in a spreadsheet. Anyone holding an
// app's public SDK token can choose a search keyword, a page title or a SKU
// name; a cell that begins with = + - @, a tab or a carriage return is read
// by Excel, WPS and LibreOffice as a formula (OWASP, "CSV injection"), so
// such a cell gets a leading apostrophe, which spreadsheets show as text.
// A plain number ("-250", "+3.5") is no formula and is left as it is, so
// that negative differences stay numbers.
func CSVCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(s, 64); err == nil && s[0] != '\t' && s[0] != '\r' {
			return s
		}
		return "'" + s
	}
	return s
}
