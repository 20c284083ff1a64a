-- How many times each conversion was sent again after an attempt whose
-- answer was lost or unclear (last_class 'retry': a transport failure, a
-- timeout, HTTP 5xx, system busy, an unreadable answer), which WeChat may
-- have recorded: the same outer_action_id went on the wire again. Settling
-- an attempt adds one when the attempt before it was such a failure
-- (store.SettleSQL); a replay does not reset it.
ALTER TABLE ad_conversions ADD COLUMN resends INTEGER DEFAULT 0;
