package imaging

// Header reads what [Inspect] reads without decoding any pixels: the
// format, the displayed size and the pixel limit check. Use it to estimate
// what a decode will cost before paying for it; it does not prove that the
// pixel data is intact. Errors are as Inspect's.
func Header(data []byte, lim Limits) (Info, error) {
	_, info, err := inspectHeader(data, lim)
	return info, err
}
