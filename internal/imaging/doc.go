// Package imaging decodes, edits and encodes images in pure Go.
//
// It sniffs formats from magic bytes (never from a client's Content-Type),
// checks pixel limits before allocating pixels, applies EXIF orientation at
// decode, and exposes a typed, validated edit list ([Op]) that can be replayed
// on a preview proxy or on the full-resolution original. Encoders re-encode
// from pixels only, so no source metadata (EXIF, GPS, ICC, XMP) ever reaches
// the output.
//
// The package holds no mutable package-level state: decoders are looked up in
// a read-only table rather than registered in the global image package
// registry, so importing it has no side effects on other packages.
package imaging
