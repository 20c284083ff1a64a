// Package datacube pulls WeChat's own analysis data ("datacube"): the
// mini-program's page visits, visit trend, visit distribution and daily
// summary, and the official account's user and article figures
// (wechat-datacube.md). Each family is called with its own app's token —
// the mini-program's or the official account's — and the two never mix:
// WeChat rejects a token of the wrong app.
//
// This package so far holds the client and the schedule (Due: which days
// are owed, from the per-day status store.PullStore keeps). The pull loop
// that stores what it fetches, its cron task and the article join are
// still to come (issue 12).
package datacube
