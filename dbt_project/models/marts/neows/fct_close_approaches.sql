-- Close approaches of asteroids to planets and the Moon, one row per asteroid, date and orbiting body.
with

approaches as (
    select * from {{ ref('int_close_approaches_joined_to_asteroids') }}
),

final as (
    select
        -- ids
        asteroid_id::text as asteroid_id,

        -- strings
        orbiting_body::text as orbiting_body,
        approach_source,
        size_class,

        -- numerics
        relative_velocity_km_per_s,
        miss_distance_au,
        miss_distance_lunar,
        miss_distance_km,

        -- booleans
        is_potentially_hazardous,
        is_within_lunar_distance,
        is_hazardous_approach,

        -- dates
        close_approach_date,

        -- timestamps
        close_approach_at

    from approaches
)

select * from final
