// Package storage is the durable per-process storage of Cloister.
//
// A Backend keeps the data of many slots (a slot is a process's path:
// the data belongs to the place in the tree, not to an incarnation) and
// applies each slot's writes in atomic batches. Pebble is the embedded
// backend; Memory keeps everything in memory. The conformance suite in
// storagetest is what a new backend must pass.
//
// A Store is one slot as its process sees it during a turn: it buffers the
// turn's writes, serves reads through them, counts the slot's bytes
// against its quota and commits the whole turn at once.
package storage
