-- Text compares byte by byte, as in the embedded store. A column of the
-- database's default collation sorts, groups and takes min and max by the
-- server's locale: on en_US.UTF-8 or an ICU locale, what most servers are
-- made with, "PFAe…" sorted before "PHF7…" and the skus analysis listed
-- its ties in another order than DuckDB, which compares bytes. "C" is also
-- the cheapest collation to sort and index by.
--
-- Every text column of the store's tables (a merchant's own tables in the
-- same schema are left alone); partitions follow their parent. A partition
-- key cannot change its collation: rollup_step_events.type keeps the
-- default. It holds the step types only, and the one ordering by it, the
-- searches' numbering, puts 'search' before 'trigger_sku_component' in
-- any locale. A new collation rebuilds the column's indexes, not the
-- table. New text columns are declared COLLATE "C" (TestTextIsBytewise).

ALTER TABLE ad_conversions
    ALTER COLUMN id TYPE text COLLATE "C",
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN kind TYPE text COLLATE "C",
    ALTER COLUMN ref_id TYPE text COLLATE "C",
    ALTER COLUMN action_type TYPE text COLLATE "C",
    ALTER COLUMN source TYPE text COLLATE "C",
    ALTER COLUMN open_id TYPE text COLLATE "C",
    ALTER COLUMN union_id TYPE text COLLATE "C",
    ALTER COLUMN click_id TYPE text COLLATE "C",
    ALTER COLUMN ad_id TYPE text COLLATE "C",
    ALTER COLUMN payload TYPE text COLLATE "C",
    ALTER COLUMN status TYPE text COLLATE "C",
    ALTER COLUMN last_error TYPE text COLLATE "C",
    ALTER COLUMN last_class TYPE text COLLATE "C",
    ALTER COLUMN claimed_by TYPE text COLLATE "C";

ALTER TABLE ad_touches
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN user_key TYPE text COLLATE "C",
    ALTER COLUMN open_id TYPE text COLLATE "C",
    ALTER COLUMN union_id TYPE text COLLATE "C",
    ALTER COLUMN click_id TYPE text COLLATE "C",
    ALTER COLUMN ad_id TYPE text COLLATE "C";

ALTER TABLE app_state
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN key TYPE text COLLATE "C",
    ALTER COLUMN value TYPE text COLLATE "C";

ALTER TABLE dashboard_sessions
    ALTER COLUMN id_hash TYPE text COLLATE "C",
    ALTER COLUMN user_name TYPE text COLLATE "C";

ALTER TABLE data_api_nonces
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN nonce TYPE text COLLATE "C";

ALTER TABLE data_sources
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN id TYPE text COLLATE "C",
    ALTER COLUMN merchant_id TYPE text COLLATE "C";

ALTER TABLE event_contexts
    ALTER COLUMN app_id TYPE text COLLATE "C";

ALTER TABLE events
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN type TYPE text COLLATE "C",
    ALTER COLUMN kind TYPE text COLLATE "C",
    ALTER COLUMN sdk_from TYPE text COLLATE "C",
    ALTER COLUMN tracking_id TYPE text COLLATE "C",
    ALTER COLUMN user_key TYPE text COLLATE "C",
    ALTER COLUMN open_id TYPE text COLLATE "C",
    ALTER COLUMN union_id TYPE text COLLATE "C",
    ALTER COLUMN local_id TYPE text COLLATE "C",
    ALTER COLUMN user_id TYPE text COLLATE "C",
    ALTER COLUMN wx_appid TYPE text COLLATE "C",
    ALTER COLUMN page TYPE text COLLATE "C",
    ALTER COLUMN page_query TYPE text COLLATE "C",
    ALTER COLUMN page_title TYPE text COLLATE "C",
    ALTER COLUMN refer_page TYPE text COLLATE "C",
    ALTER COLUMN chan_id TYPE text COLLATE "C",
    ALTER COLUMN chan_refer_app_id TYPE text COLLATE "C",
    ALTER COLUMN guide_id TYPE text COLLATE "C",
    ALTER COLUMN room_id TYPE text COLLATE "C",
    ALTER COLUMN shop_id TYPE text COLLATE "C",
    ALTER COLUMN shop_name TYPE text COLLATE "C",
    ALTER COLUMN gdt_vid TYPE text COLLATE "C",
    ALTER COLUMN weixinadinfo TYPE text COLLATE "C",
    ALTER COLUMN qz_gdt TYPE text COLLATE "C",
    ALTER COLUMN chan_custom_id TYPE text COLLATE "C",
    ALTER COLUMN store_id TYPE text COLLATE "C",
    ALTER COLUMN sku_id TYPE text COLLATE "C",
    ALTER COLUMN spu_id TYPE text COLLATE "C",
    ALTER COLUMN sku_name TYPE text COLLATE "C",
    ALTER COLUMN action_type TYPE text COLLATE "C",
    ALTER COLUMN keyword TYPE text COLLATE "C",
    ALTER COLUMN share_to TYPE text COLLATE "C",
    ALTER COLUMN order_id TYPE text COLLATE "C",
    ALTER COLUMN order_status TYPE text COLLATE "C",
    ALTER COLUMN click_id TYPE text COLLATE "C",
    ALTER COLUMN ad_id TYPE text COLLATE "C";

ALTER TABLE oa_article_days
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN msgid TYPE text COLLATE "C";

ALTER TABLE oa_article_markers
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN marker TYPE text COLLATE "C",
    ALTER COLUMN msgid TYPE text COLLATE "C",
    ALTER COLUMN matched_by TYPE text COLLATE "C",
    ALTER COLUMN title TYPE text COLLATE "C",
    ALTER COLUMN link TYPE text COLLATE "C",
    ALTER COLUMN link_msgid TYPE text COLLATE "C";

ALTER TABLE oa_article_totals
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN msgid TYPE text COLLATE "C";

ALTER TABLE oa_articles
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN msgid TYPE text COLLATE "C",
    ALTER COLUMN title TYPE text COLLATE "C",
    ALTER COLUMN content_url TYPE text COLLATE "C";

ALTER TABLE oa_biz_summaries
    ALTER COLUMN app_id TYPE text COLLATE "C";

ALTER TABLE oa_user_cumulates
    ALTER COLUMN app_id TYPE text COLLATE "C";

ALTER TABLE oa_user_summaries
    ALTER COLUMN app_id TYPE text COLLATE "C";

ALTER TABLE order_goods
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN external_order_id TYPE text COLLATE "C",
    ALTER COLUMN sku_id TYPE text COLLATE "C",
    ALTER COLUMN sku_name TYPE text COLLATE "C",
    ALTER COLUMN spu_id TYPE text COLLATE "C",
    ALTER COLUMN spu_name TYPE text COLLATE "C",
    ALTER COLUMN category_id TYPE text COLLATE "C",
    ALTER COLUMN category_name TYPE text COLLATE "C",
    ALTER COLUMN store_id TYPE text COLLATE "C",
    ALTER COLUMN store_name TYPE text COLLATE "C",
    ALTER COLUMN chan_id TYPE text COLLATE "C",
    ALTER COLUMN chan_custom_id TYPE text COLLATE "C";

ALTER TABLE order_status_history
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN external_order_id TYPE text COLLATE "C";

ALTER TABLE order_sums
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN raw TYPE text COLLATE "C";

ALTER TABLE orders
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN external_order_id TYPE text COLLATE "C",
    ALTER COLUMN order_source TYPE text COLLATE "C",
    ALTER COLUMN brand_id TYPE text COLLATE "C",
    ALTER COLUMN brand_name TYPE text COLLATE "C",
    ALTER COLUMN open_id TYPE text COLLATE "C",
    ALTER COLUMN union_id TYPE text COLLATE "C",
    ALTER COLUMN user_id TYPE text COLLATE "C",
    ALTER COLUMN member_id TYPE text COLLATE "C",
    ALTER COLUMN wx_appid TYPE text COLLATE "C",
    ALTER COLUMN store_id TYPE text COLLATE "C",
    ALTER COLUMN store_name TYPE text COLLATE "C",
    ALTER COLUMN chan_id TYPE text COLLATE "C",
    ALTER COLUMN chan_refer_app_id TYPE text COLLATE "C",
    ALTER COLUMN chan_custom_id TYPE text COLLATE "C",
    ALTER COLUMN guide_id TYPE text COLLATE "C",
    ALTER COLUMN payment_type TYPE text COLLATE "C",
    ALTER COLUMN raw TYPE text COLLATE "C";

ALTER TABLE quarantine
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN source TYPE text COLLATE "C",
    ALTER COLUMN type TYPE text COLLATE "C",
    ALTER COLUMN reason TYPE text COLLATE "C",
    ALTER COLUMN raw TYPE text COLLATE "C";

ALTER TABLE rollup_event_types
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN type TYPE text COLLATE "C",
    ALTER COLUMN kind TYPE text COLLATE "C";

ALTER TABLE rollup_event_users
    ALTER COLUMN app_id TYPE text COLLATE "C";

ALTER TABLE rollup_gaps
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN dim TYPE text COLLATE "C";

ALTER TABLE rollup_hour_sums
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN page TYPE text COLLATE "C";

ALTER TABLE rollup_order_events
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN order_id TYPE text COLLATE "C",
    ALTER COLUMN order_status TYPE text COLLATE "C",
    ALTER COLUMN tracking_id TYPE text COLLATE "C",
    ALTER COLUMN user_key TYPE text COLLATE "C",
    ALTER COLUMN union_id TYPE text COLLATE "C",
    ALTER COLUMN chan_id TYPE text COLLATE "C",
    ALTER COLUMN chan_refer_app_id TYPE text COLLATE "C",
    ALTER COLUMN chan_custom_id TYPE text COLLATE "C",
    ALTER COLUMN guide_id TYPE text COLLATE "C",
    ALTER COLUMN room_id TYPE text COLLATE "C",
    ALTER COLUMN shop_id TYPE text COLLATE "C",
    ALTER COLUMN shop_name TYPE text COLLATE "C";

ALTER TABLE rollup_orders
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN order_id TYPE text COLLATE "C",
    ALTER COLUMN placer TYPE text COLLATE "C",
    ALTER COLUMN payer TYPE text COLLATE "C",
    ALTER COLUMN union_id TYPE text COLLATE "C",
    ALTER COLUMN chan_id TYPE text COLLATE "C",
    ALTER COLUMN chan_refer_app_id TYPE text COLLATE "C",
    ALTER COLUMN chan_custom_id TYPE text COLLATE "C",
    ALTER COLUMN guide_id TYPE text COLLATE "C",
    ALTER COLUMN room_id TYPE text COLLATE "C",
    ALTER COLUMN shop_id TYPE text COLLATE "C",
    ALTER COLUMN shop_name TYPE text COLLATE "C";

ALTER TABLE rollup_pages
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN page TYPE text COLLATE "C";

ALTER TABLE rollup_presence
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN dim TYPE text COLLATE "C";

ALTER TABLE rollup_searches
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN keyword TYPE text COLLATE "C";

ALTER TABLE rollup_sessions
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN chan_id TYPE text COLLATE "C",
    ALTER COLUMN chan_refer_app_id TYPE text COLLATE "C",
    ALTER COLUMN chan_custom_id TYPE text COLLATE "C",
    ALTER COLUMN chan_custom_cat_1 TYPE text COLLATE "C",
    ALTER COLUMN chan_custom_cat_2 TYPE text COLLATE "C",
    ALTER COLUMN chan_custom_cat_3 TYPE text COLLATE "C",
    ALTER COLUMN guide_id TYPE text COLLATE "C",
    ALTER COLUMN room_id TYPE text COLLATE "C",
    ALTER COLUMN shop_id TYPE text COLLATE "C",
    ALTER COLUMN shop_name TYPE text COLLATE "C",
    ALTER COLUMN ad_id TYPE text COLLATE "C";

ALTER TABLE rollup_sku_hours
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN sku_id TYPE text COLLATE "C",
    ALTER COLUMN sku_name TYPE text COLLATE "C";

ALTER TABLE rollup_skus
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN sku_id TYPE text COLLATE "C",
    ALTER COLUMN sku_name TYPE text COLLATE "C";

ALTER TABLE rollup_step_events
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN sku_id TYPE text COLLATE "C",
    ALTER COLUMN action_type TYPE text COLLATE "C",
    ALTER COLUMN order_status TYPE text COLLATE "C",
    ALTER COLUMN keyword TYPE text COLLATE "C",
    ALTER COLUMN share_to TYPE text COLLATE "C",
    ALTER COLUMN page TYPE text COLLATE "C",
    ALTER COLUMN guide_id TYPE text COLLATE "C",
    ALTER COLUMN room_id TYPE text COLLATE "C",
    ALTER COLUMN ad_id TYPE text COLLATE "C",
    ALTER COLUMN shop_id TYPE text COLLATE "C",
    ALTER COLUMN chan_id TYPE text COLLATE "C";

ALTER TABLE rollup_step_hours
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN type TYPE text COLLATE "C",
    ALTER COLUMN guide_id TYPE text COLLATE "C",
    ALTER COLUMN room_id TYPE text COLLATE "C",
    ALTER COLUMN ad_id TYPE text COLLATE "C",
    ALTER COLUMN shop_id TYPE text COLLATE "C",
    ALTER COLUMN chan_id TYPE text COLLATE "C";

ALTER TABLE rollup_users
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN union_id TYPE text COLLATE "C";

ALTER TABLE unknown_event_types
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN type TYPE text COLLATE "C";

ALTER TABLE wx_daily_summaries
    ALTER COLUMN app_id TYPE text COLLATE "C";

ALTER TABLE wx_pull_days
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN family TYPE text COLLATE "C",
    ALTER COLUMN status TYPE text COLLATE "C",
    ALTER COLUMN last_error TYPE text COLLATE "C";

ALTER TABLE wx_tokens
    ALTER COLUMN wx_appid TYPE text COLLATE "C",
    ALTER COLUMN value TYPE text COLLATE "C";

ALTER TABLE wx_visit_distributions
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN dist_index TYPE text COLLATE "C";

ALTER TABLE wx_visit_trends
    ALTER COLUMN app_id TYPE text COLLATE "C";

ALTER TABLE wxapp_visit_pages
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN page_path TYPE text COLLATE "C",
    ALTER COLUMN page TYPE text COLLATE "C",
    ALTER COLUMN source TYPE text COLLATE "C";

ALTER TABLE youshu_relay
    ALTER COLUMN app_id TYPE text COLLATE "C",
    ALTER COLUMN kind TYPE text COLLATE "C",
    ALTER COLUMN ref_id TYPE text COLLATE "C",
    ALTER COLUMN body TYPE text COLLATE "C",
    ALTER COLUMN encrypt_key TYPE text COLLATE "C",
    ALTER COLUMN status TYPE text COLLATE "C",
    ALTER COLUMN claimed_by TYPE text COLLATE "C",
    ALTER COLUMN last_error TYPE text COLLATE "C";
