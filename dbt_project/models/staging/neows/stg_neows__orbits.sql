-- Osculating orbital elements of asteroids, one row per asteroid: from `/neo/{id}` lookups, from the
-- browse catalogue and from detailed feeds (the same `orbital_data` shape; 2016-era feeds lack the orbit
-- class). When several hold an asteroid, the newer epoch of osculation wins, then the later orbit
-- determination, then the lookup, then browse. Decimal strings are cast to
-- double precision with the unit in the column name; the epoch is also given as a calendar date.
{%- set orbit_columns = [
    'neo_reference_id',
    'orbital_data__orbit_id',
    'orbital_data__orbit_class__orbit_class_type',
    'orbital_data__orbit_class__orbit_class_description',
    'orbital_data__equinox',
    'orbital_data__epoch_osculation',
    'orbital_data__eccentricity',
    'orbital_data__semi_major_axis',
    'orbital_data__inclination',
    'orbital_data__ascending_node_longitude',
    'orbital_data__perihelion_argument',
    'orbital_data__perihelion_distance',
    'orbital_data__aphelion_distance',
    'orbital_data__mean_anomaly',
    'orbital_data__mean_motion',
    'orbital_data__orbital_period',
    'orbital_data__minimum_orbit_intersection',
    'orbital_data__orbit_determination_date',
    '_dlt_load_id'
] %}

with

browse_orbits as (
    select
        {{ orbit_columns | join(',\n        ') }},
        'browse' as orbit_source,
        2 as source_priority
    from {{ relation_or_empty(source('neows', 'browse_asteroids')) }}
),

lookup_orbits as (
    select
        {{ orbit_columns | join(',\n        ') }},
        'lookup' as orbit_source,
        1 as source_priority
    from {{ relation_or_empty(source('neows', 'lookups')) }}
),

feed_orbits as (
    select
        {{ orbit_columns | join(',\n        ') }},
        'feed' as orbit_source,
        3 as source_priority
    from {{ relation_or_empty(source('neows', 'asteroids')) }}
    -- only feeds requested with `detailed=true` carry elements
    where orbital_data__epoch_osculation is not null
),

unioned as (
    select * from lookup_orbits
    union all
    select * from browse_orbits
    union all
    select * from feed_orbits
),

renamed as (
    select
        -- ids
        neo_reference_id as asteroid_id,
        nullif(trim(orbital_data__orbit_id), '') as orbit_id,

        -- strings
        orbit_source,
        nullif(trim(orbital_data__orbit_class__orbit_class_type), '') as orbit_class,
        orbital_data__orbit_class__orbit_class_description as orbit_class_description,
        orbital_data__equinox as equinox,

        -- numerics
        source_priority,
        {{ safe_cast_number('orbital_data__epoch_osculation') }} as epoch_osculation_jd,
        {{ safe_cast_number('orbital_data__eccentricity') }} as eccentricity,
        {{ safe_cast_number('orbital_data__semi_major_axis') }} as semi_major_axis_au,
        {{ safe_cast_number('orbital_data__inclination') }} as inclination_deg,
        {{ safe_cast_number('orbital_data__ascending_node_longitude') }} as ascending_node_longitude_deg,
        {{ safe_cast_number('orbital_data__perihelion_argument') }} as perihelion_argument_deg,
        {{ safe_cast_number('orbital_data__perihelion_distance') }} as perihelion_distance_au,
        {{ safe_cast_number('orbital_data__aphelion_distance') }} as aphelion_distance_au,
        {{ safe_cast_number('orbital_data__mean_anomaly') }} as mean_anomaly_deg,
        {{ safe_cast_number('orbital_data__mean_motion') }} as mean_motion_deg_per_day,
        {{ safe_cast_number('orbital_data__orbital_period') }} as orbital_period_days,
        {{ safe_cast_number('orbital_data__minimum_orbit_intersection') }} as minimum_orbit_intersection_au,

        -- timestamps
        case
            when orbital_data__orbit_determination_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
                then (orbital_data__orbit_determination_date::timestamp at time zone 'UTC')
        end as orbit_determined_at,
        {{ dlt_loaded_at() }} as loaded_at

    from unioned
),

-- distinct on, not a row_number() filter: the planner estimates its rows from the key's statistics
ranked as (
    select distinct on (asteroid_id) *
    from renamed
    order by
        asteroid_id asc,
        epoch_osculation_jd desc nulls last,
        orbit_determined_at desc nulls last,
        source_priority asc,
        loaded_at desc
),

final as (
    select
        -- ids
        asteroid_id,
        orbit_id,

        -- strings
        orbit_source,
        orbit_class,
        orbit_class_description,
        equinox,

        -- numerics
        epoch_osculation_jd,
        eccentricity,
        semi_major_axis_au,
        inclination_deg,
        ascending_node_longitude_deg,
        perihelion_argument_deg,
        perihelion_distance_au,
        aphelion_distance_au,
        mean_anomaly_deg,
        mean_motion_deg_per_day,
        orbital_period_days,
        minimum_orbit_intersection_au,

        -- dates: the Julian day number of the epoch's calendar day (JD 2451544.5 = 2000-01-01 00:00)
        date '2000-01-01' + (floor(epoch_osculation_jd + 0.5) - 2451545)::integer as epoch_osculation_date,

        -- timestamps
        orbit_determined_at,
        loaded_at

    from ranked
)

select * from final
