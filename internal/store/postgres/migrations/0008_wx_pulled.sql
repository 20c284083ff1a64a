-- The data the daily pull of WeChat's analysis endpoints stores (issue 12).
--
-- wxapp_visit_pages gains source: 'pushed' rows come from the merchant's
-- add_wxapp_visit_page, 'pulled' ones from getVisitPage fetched by
-- shuyuan. Both are kept, one source per row, so the two can be set side
-- by side.
ALTER TABLE wxapp_visit_pages ADD COLUMN source text NOT NULL DEFAULT 'pushed';
ALTER TABLE wxapp_visit_pages DROP CONSTRAINT wxapp_visit_pages_pkey;
ALTER TABLE wxapp_visit_pages ADD PRIMARY KEY (app_id, ref_date, page_path, source);

-- getDailyVisitTrend: one row per app and day.
CREATE TABLE wx_visit_trends (
    app_id            text        NOT NULL,
    ref_date          date        NOT NULL,
    session_cnt       bigint      NOT NULL,
    visit_pv          bigint      NOT NULL,
    visit_uv          bigint      NOT NULL,
    visit_uv_new      bigint      NOT NULL,
    stay_time_uv      double precision NOT NULL, -- seconds per user
    stay_time_session double precision NOT NULL, -- seconds per open
    visit_depth       double precision NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (app_id, ref_date)
);

-- getDailySummary: cumulative users and shares of the day.
CREATE TABLE wx_daily_summaries (
    app_id      text        NOT NULL,
    ref_date    date        NOT NULL,
    visit_total bigint      NOT NULL,
    share_pv    bigint      NOT NULL,
    share_uv    bigint      NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (app_id, ref_date)
);

-- getVisitDistribution: per index (access_source_session_cnt,
-- access_source_visit_uv, access_staytime_info, access_depth_info, or one
-- WeChat adds later) the value of each key; unknown keys kept verbatim.
CREATE TABLE wx_visit_distributions (
    app_id     text        NOT NULL,
    ref_date   date        NOT NULL,
    dist_index text        NOT NULL,
    dist_key   bigint      NOT NULL,
    value      bigint      NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, ref_date, dist_index, dist_key)
);

-- getusersummary: the account's follows and unfollows per channel.
CREATE TABLE oa_user_summaries (
    app_id      text        NOT NULL,
    ref_date    date        NOT NULL,
    user_source bigint      NOT NULL,
    new_user    bigint      NOT NULL,
    cancel_user bigint      NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (app_id, ref_date, user_source)
);

-- getusercumulate: the account's followers at the end of the day.
CREATE TABLE oa_user_cumulates (
    app_id        text        NOT NULL,
    ref_date      date        NOT NULL,
    cumulate_user bigint      NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (app_id, ref_date)
);

-- Per article and day: readers and sharers of that day (getarticleread
-- and getarticleshare from 2025-11-01; the legacy getarticlesummary's
-- int_page_read_user and share_user before).
CREATE TABLE oa_article_days (
    app_id     text        NOT NULL,
    ref_date   date        NOT NULL,
    msgid      text        NOT NULL,
    read_user  bigint      NOT NULL,
    share_user bigint      NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, ref_date, msgid)
);

-- getbizsummary: the account's daily totals (from 2025-11-01 only).
CREATE TABLE oa_biz_summaries (
    app_id                 text        NOT NULL,
    ref_date               date        NOT NULL,
    read_user              bigint      NOT NULL,
    share_user             bigint      NOT NULL,
    zaikan_user            bigint      NOT NULL,
    like_user              bigint      NOT NULL,
    comment_count          bigint      NOT NULL,
    collection_user        bigint      NOT NULL,
    redirect_ori_page_user bigint      NOT NULL,
    send_page_count        bigint      NOT NULL,
    updated_at             timestamptz NOT NULL,
    PRIMARY KEY (app_id, ref_date)
);

-- The articles published on each day (getarticletotaldetail, legacy
-- getarticletotal): identity, title and link, which the article join
-- matches markers against.
CREATE TABLE oa_articles (
    app_id       text        NOT NULL,
    msgid        text        NOT NULL,
    publish_date date        NOT NULL,
    title        text        NOT NULL,
    content_url  text        NOT NULL,
    publish_type bigint      NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (app_id, msgid)
);

-- Their cumulative figures from the publish date through stat_date, as
-- known when the publish date was pulled.
CREATE TABLE oa_article_totals (
    app_id              text        NOT NULL,
    msgid               text        NOT NULL,
    stat_date           date        NOT NULL,
    publish_date        date        NOT NULL,
    read_user           bigint      NOT NULL,
    share_user          bigint      NOT NULL,
    zaikan_user         bigint      NOT NULL,
    like_user           bigint      NOT NULL,
    comment_count       bigint      NOT NULL,
    collection_user     bigint      NOT NULL,
    read_subscribe_user bigint      NOT NULL,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (app_id, msgid, stat_date)
);
