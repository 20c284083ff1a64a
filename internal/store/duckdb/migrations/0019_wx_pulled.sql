-- The data the daily pull of WeChat's analysis endpoints stores (issue 12).
--
-- wxapp_visit_pages gains source: 'pushed' rows come from the merchant's
-- add_wxapp_visit_page, 'pulled' ones from getVisitPage fetched by
-- shuyuan. Both are kept, one source per row, so the two can be set side
-- by side. DuckDB cannot change a primary key in place: the table is
-- copied out, made again with source in its key, and copied back.
CREATE TABLE wxapp_visit_pages_0019 AS SELECT * FROM wxapp_visit_pages;
DROP TABLE staging_visit_pages;
DROP TABLE wxapp_visit_pages;
CREATE TABLE wxapp_visit_pages (
    app_id           VARCHAR     NOT NULL,
    ref_date         DATE        NOT NULL,
    page_path        VARCHAR     NOT NULL, -- as sent
    page             VARCHAR     NOT NULL, -- without leading "/" or query, like events.page
    page_visit_pv    BIGINT      NOT NULL,
    page_visit_uv    BIGINT      NOT NULL,
    page_staytime_pv DOUBLE      NOT NULL, -- average seconds per visit
    entrypage_pv     BIGINT      NOT NULL,
    exitpage_pv      BIGINT      NOT NULL,
    page_share_pv    BIGINT      NOT NULL,
    page_share_uv    BIGINT      NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    source           VARCHAR     NOT NULL DEFAULT 'pushed', -- pushed | pulled
    PRIMARY KEY (app_id, ref_date, page_path, source)
);
INSERT INTO wxapp_visit_pages SELECT *, 'pushed' FROM wxapp_visit_pages_0019;
DROP TABLE wxapp_visit_pages_0019;
CREATE TABLE staging_visit_pages AS SELECT * FROM wxapp_visit_pages LIMIT 0;

-- getDailyVisitTrend: one row per app and day.
CREATE TABLE wx_visit_trends (
    app_id            VARCHAR     NOT NULL,
    ref_date          DATE        NOT NULL,
    session_cnt       BIGINT      NOT NULL,
    visit_pv          BIGINT      NOT NULL,
    visit_uv          BIGINT      NOT NULL,
    visit_uv_new      BIGINT      NOT NULL,
    stay_time_uv      DOUBLE      NOT NULL, -- seconds per user
    stay_time_session DOUBLE      NOT NULL, -- seconds per open
    visit_depth       DOUBLE      NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, ref_date)
);

-- getDailySummary: cumulative users and shares of the day.
CREATE TABLE wx_daily_summaries (
    app_id      VARCHAR     NOT NULL,
    ref_date    DATE        NOT NULL,
    visit_total BIGINT      NOT NULL,
    share_pv    BIGINT      NOT NULL,
    share_uv    BIGINT      NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, ref_date)
);

-- getVisitDistribution: per index (access_source_session_cnt,
-- access_source_visit_uv, access_staytime_info, access_depth_info, or one
-- WeChat adds later) the value of each key; unknown keys kept verbatim.
CREATE TABLE wx_visit_distributions (
    app_id     VARCHAR     NOT NULL,
    ref_date   DATE        NOT NULL,
    dist_index VARCHAR     NOT NULL,
    dist_key   BIGINT      NOT NULL,
    value      BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, ref_date, dist_index, dist_key)
);

-- getusersummary: the account's follows and unfollows per channel.
CREATE TABLE oa_user_summaries (
    app_id      VARCHAR     NOT NULL,
    ref_date    DATE        NOT NULL,
    user_source BIGINT      NOT NULL,
    new_user    BIGINT      NOT NULL,
    cancel_user BIGINT      NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, ref_date, user_source)
);

-- getusercumulate: the account's followers at the end of the day.
CREATE TABLE oa_user_cumulates (
    app_id        VARCHAR     NOT NULL,
    ref_date      DATE        NOT NULL,
    cumulate_user BIGINT      NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, ref_date)
);

-- Per article and day: readers and sharers of that day (getarticleread
-- and getarticleshare from 2025-11-01; the legacy getarticlesummary's
-- int_page_read_user and share_user before).
CREATE TABLE oa_article_days (
    app_id     VARCHAR     NOT NULL,
    ref_date   DATE        NOT NULL,
    msgid      VARCHAR     NOT NULL,
    read_user  BIGINT      NOT NULL,
    share_user BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, ref_date, msgid)
);

-- getbizsummary: the account's daily totals (from 2025-11-01 only).
CREATE TABLE oa_biz_summaries (
    app_id                 VARCHAR     NOT NULL,
    ref_date               DATE        NOT NULL,
    read_user              BIGINT      NOT NULL,
    share_user             BIGINT      NOT NULL,
    zaikan_user            BIGINT      NOT NULL,
    like_user              BIGINT      NOT NULL,
    comment_count          BIGINT      NOT NULL,
    collection_user        BIGINT      NOT NULL,
    redirect_ori_page_user BIGINT      NOT NULL,
    send_page_count        BIGINT      NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, ref_date)
);

-- The articles published on each day (getarticletotaldetail, legacy
-- getarticletotal): identity, title and link, which the article join
-- matches markers against.
CREATE TABLE oa_articles (
    app_id       VARCHAR     NOT NULL,
    msgid        VARCHAR     NOT NULL,
    publish_date DATE        NOT NULL,
    title        VARCHAR     NOT NULL,
    content_url  VARCHAR     NOT NULL,
    publish_type BIGINT      NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, msgid)
);

-- Their cumulative figures from the publish date through stat_date, as
-- known when the publish date was pulled.
CREATE TABLE oa_article_totals (
    app_id              VARCHAR     NOT NULL,
    msgid               VARCHAR     NOT NULL,
    stat_date           DATE        NOT NULL,
    publish_date        DATE        NOT NULL,
    read_user           BIGINT      NOT NULL,
    share_user          BIGINT      NOT NULL,
    zaikan_user         BIGINT      NOT NULL,
    like_user           BIGINT      NOT NULL,
    comment_count       BIGINT      NOT NULL,
    collection_user     BIGINT      NOT NULL,
    read_subscribe_user BIGINT      NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, msgid, stat_date)
);
