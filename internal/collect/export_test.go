package collect

// DecodeLogged is decodeLogged, for the fuzz test beside Decode's.
var DecodeLogged = decodeLogged
