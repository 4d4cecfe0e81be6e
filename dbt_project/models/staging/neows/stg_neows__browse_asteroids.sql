-- Asteroids of the NeoWs browse catalogue with their orbital elements, one row per asteroid (the latest
-- load wins). Decimal strings are cast to double precision with the unit in the column name. The staging
-- logic is shared with the lookups'.
{{ stg_neows_objects(source('neows', 'browse_asteroids')) }}
