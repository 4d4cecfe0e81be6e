-- Asteroids NASA flags as potentially hazardous that have a computed MOID but are not rows of
-- dim_potentially_hazardous_asteroids: NASA's flag and the definition applied here disagree (the other
-- direction is `agrees_with_nasa_flag` in the mart). A warning to look at, not a build failure.
{{ config(severity='warn') }}

with

asteroids as (
    select * from {{ ref('dim_asteroids') }}
),

moids as (
    select * from {{ ref('asteroid_earth_moid') }}
),

hazardous_asteroids as (
    select * from {{ ref('dim_potentially_hazardous_asteroids') }}
),

flagged_by_nasa_only as (
    select
        asteroids.asteroid_id,
        asteroids.absolute_magnitude_h,
        moids.moid_au,
        moids.jpl_moid_au
    from asteroids
    inner join moids
        on asteroids.asteroid_id = moids.asteroid_id
    left join hazardous_asteroids
        on asteroids.asteroid_id = hazardous_asteroids.asteroid_id
    where
        asteroids.is_potentially_hazardous
        and moids.moid_au is not null
        and hazardous_asteroids.asteroid_id is null
)

select * from flagged_by_nasa_only
