-- Every known close approach (feed, browse and lookups, one row per asteroid, date and body) with the size
-- and hazard of the asteroid (int_asteroids_unioned). Where several endpoints hold the same approach, the
-- latest load wins (the feed, then the browse catalogue on a tie).
with

feed_approaches as (
    select * from {{ ref('stg_neows__close_approaches') }}
),

browse_approaches as (
    select * from {{ ref('stg_neows__browse_close_approaches') }}
),

lookup_approaches as (
    select * from {{ ref('stg_neows__lookup_close_approaches') }}
),

-- materialized: computed once; inlined, the planner misjudged the approaches as one row and re-ran the
-- asteroids' view for each approach
asteroids as materialized (
    select * from {{ ref('int_asteroids_unioned') }}
),

approaches_unioned as (
    select
        asteroid_id,
        orbiting_body,
        'feed' as approach_source,
        relative_velocity_km_per_s,
        miss_distance_au,
        miss_distance_lunar,
        miss_distance_km,
        close_approach_date,
        close_approach_at,
        loaded_at
    from feed_approaches
    union all
    select
        asteroid_id,
        orbiting_body,
        'browse' as approach_source,
        relative_velocity_km_per_s,
        miss_distance_au,
        miss_distance_lunar,
        miss_distance_km,
        close_approach_date,
        close_approach_at,
        loaded_at
    from browse_approaches
    union all
    select
        asteroid_id,
        orbiting_body,
        'lookup' as approach_source,
        relative_velocity_km_per_s,
        miss_distance_au,
        miss_distance_lunar,
        miss_distance_km,
        close_approach_date,
        close_approach_at,
        loaded_at
    from lookup_approaches
),

-- distinct on, not a row_number() filter: the planner estimates one row per approach instead of one in all
approaches as (
    select distinct on (asteroid_id, close_approach_date, orbiting_body) *
    from approaches_unioned
    order by
        asteroid_id asc,
        close_approach_date asc,
        orbiting_body asc,
        loaded_at desc,
        case approach_source when 'feed' then 1 when 'browse' then 2 else 3 end asc
),

enriched as (
    select
        -- ids
        approaches.asteroid_id,

        -- strings
        approaches.orbiting_body,
        approaches.approach_source,
        asteroids.asteroid_name,
        coalesce(asteroids.size_class, 'unknown') as size_class,

        -- numerics
        asteroids.absolute_magnitude_h,
        asteroids.estimated_diameter_min_m,
        asteroids.estimated_diameter_max_m,
        asteroids.estimated_diameter_mean_m,
        approaches.relative_velocity_km_per_s,
        approaches.miss_distance_au,
        approaches.miss_distance_lunar,
        approaches.miss_distance_km,

        -- booleans
        coalesce(asteroids.is_potentially_hazardous, false) as is_potentially_hazardous,
        coalesce(asteroids.is_sentry_object, false) as is_sentry_object,
        coalesce(approaches.miss_distance_lunar < 1, false) as is_within_lunar_distance,
        coalesce(
            asteroids.is_potentially_hazardous
            and approaches.orbiting_body = 'Earth'
            and approaches.miss_distance_au <= 0.05,
            false
        ) as is_hazardous_approach,

        -- dates
        approaches.close_approach_date,

        -- timestamps
        approaches.close_approach_at

    from approaches
    left join asteroids
        on approaches.asteroid_id = asteroids.asteroid_id
)

select * from enriched
