// Package datacube pulls WeChat's own analysis data ("datacube"): the
// mini-program's page visits, visit trend, visit distribution and daily
// summary, and the official account's user and article figures
// (wechat-datacube.md). Each family is called with its own app's token —
// the mini-program's or the official account's — and the two never mix:
// WeChat rejects a token of the wrong app.
//
// Client calls the endpoints; Due is the schedule of owed days, from the
// per-day status store.PullStore keeps; Puller fetches each owed day of
// each family and stores it whole (store.PullStore.SavePulledDay), leaving
// days not ready pending for a later round and marking final failures.
// The article join (markers mapped to msgids) is still to come (issue 12).
package datacube
