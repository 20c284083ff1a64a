-- The article join (issue 12): the marker a merchant puts in the
-- mini-program link inside an official-account article (the launch query
-- key chan_id, docs/wechat-data.md), and the article (msgid) it stands for.
-- A marker is registered before or after publishing with what the merchant
-- knows of the article (its title, its link); the store fills msgid from
-- the pulled articles (oa_articles) by link, else by title, or the merchant
-- sets msgid by hand (matched_by 'hand'), which no match overrides.
CREATE TABLE oa_article_markers (
    app_id     text        NOT NULL,
    marker     text        NOT NULL,
    msgid      text,                 -- NULL until matched or set
    matched_by text,                 -- hand | link | title; NULL while unmatched
    title      text,                 -- the article's title, trimmed, as the merchant gave it
    link       text,                 -- the article's link, as the merchant gave it
    link_msgid text,                 -- <mid>_<idx> read from link, when it carries both
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, marker)
);
