-- Every recorded approach of each looked-up asteroid (past and future, every body), one row per
-- (asteroid, date, body): the latest load wins. The staging logic is shared with the feed's approaches.
{{ stg_neows_close_approaches(source('neows', 'lookup_close_approaches')) }}
