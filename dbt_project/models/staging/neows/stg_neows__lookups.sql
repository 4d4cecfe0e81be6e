-- Asteroids looked up with `/neo/{id}` (the browse shape: attributes and orbital elements), one row per
-- asteroid (the latest load wins). The staging logic is shared with the browse catalogue's.
{{ stg_neows_objects(source('neows', 'lookups')) }}
