-- Close approaches of the NeoWs feed (to Earth, by date), one row per (asteroid, date, body): the latest
-- load wins. The staging logic is shared with the browse catalogue's approaches (see the macro).
{{ stg_neows_close_approaches(source('neows', 'close_approaches')) }}
