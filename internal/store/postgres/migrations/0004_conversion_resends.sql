-- Attempts made after one whose answer may have been lost (a failure of
-- class "retry"): sends that may have reached WeChat twice, absorbed there
-- by outer_action_id (docs/wechat-ads.md). As the embedded store's 0013.
ALTER TABLE ad_conversions ADD COLUMN resends integer DEFAULT 0;
