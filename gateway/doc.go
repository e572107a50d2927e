// Package gateway serves HTTP into a Cloister node: an HTTP server that is a
// Go actor of the process tree, routing requests by Go ServeMux patterns to
// the fetch export of script actors.
//
// A route targets a worker (every request reaches that process) or a
// template supervisor with a key: the path wildcard named by the key picks
// the child, which is spawned on first use and named by its key, so the
// same key always reaches the same single-threaded actor (a room, a user, a
// document). Requests go through the target's mailbox like any message,
// under its limits; failures become status codes without detail (the crash
// report and the node's log have it):
//
//	mailbox full, children limit reached   503 with Retry-After
//	more than the route's max_inflight     429
//	body budget of the route is full       503 with Retry-After
//	body stalled past body_timeout         408
//	no answer within the route's timeout   504
//	the handler threw or crashed           500
//	the target process is gone             502
//	body over the limit                    413
//	the script exports no fetch            501
//	a key that is not a valid name         400
//
// A request's body is read before it takes a max_inflight place or spawns
// a keyed actor, charged to its route's byte budget as it arrives (see
// docs/http.md), so a client slow to send it holds neither.
//
// A client that goes away cancels its request: dropped if still queued,
// request.signal aborted if running, its answer discarded.
//
// The gateway is started by its supervisor like any child and stops in the
// tree's order: placed last under the root, it stops first, draining the
// requests in flight (http.Server.Shutdown) within its shutdown time while
// the actors that serve them still run.
package gateway
