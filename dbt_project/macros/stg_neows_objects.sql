{#
    Staging of a NeoWs object table of the browse shape (the browse catalogue's `browse_asteroids` or the
    `/neo/{id}` `lookups`): one row per asteroid, the latest load wins; orbital elements cast from the
    API's decimal strings (a value that is not a number becomes null), units in the column names.
#}
{% macro stg_neows_objects(raw_relation) -%}
with

source as (
    select * from {{ relation_or_empty(raw_relation) }}
),

-- distinct on, not a row_number() filter: the planner estimates its rows from the key's statistics
deduplicated as (
    select distinct on (neo_reference_id) *
    from source
    order by neo_reference_id asc, _dlt_load_id desc
),

renamed as (
    select
        -- ids
        neo_reference_id as asteroid_id,
        nullif(trim(orbital_data__orbit_id), '') as orbit_id,

        -- strings
        name as asteroid_name,
        nullif(trim(name_limited), '') as short_name,
        nullif(trim(designation), '') as designation,
        nasa_jpl_url,
        nullif(trim(orbital_data__orbit_uncertainty), '') as orbit_uncertainty_code,
        orbital_data__equinox as equinox,
        orbital_data__orbit_class__orbit_class_type as orbit_class,
        orbital_data__orbit_class__orbit_class_description as orbit_class_description,
        orbital_data__orbit_class__orbit_class_range as orbit_class_range,

        -- numerics
        absolute_magnitude_h,
        estimated_diameter__meters__estimated_diameter_min as estimated_diameter_min_m,
        estimated_diameter__meters__estimated_diameter_max as estimated_diameter_max_m,
        orbital_data__data_arc_in_days as data_arc_days,
        orbital_data__observations_used as observations_used,
        {{ safe_cast_number('orbital_data__minimum_orbit_intersection') }} as minimum_orbit_intersection_au,
        {{ safe_cast_number('orbital_data__jupiter_tisserand_invariant') }} as jupiter_tisserand_invariant,
        {{ safe_cast_number('orbital_data__epoch_osculation') }} as epoch_osculation_jd,
        {{ safe_cast_number('orbital_data__eccentricity') }} as eccentricity,
        {{ safe_cast_number('orbital_data__semi_major_axis') }} as semi_major_axis_au,
        {{ safe_cast_number('orbital_data__inclination') }} as inclination_deg,
        {{ safe_cast_number('orbital_data__ascending_node_longitude') }} as ascending_node_longitude_deg,
        {{ safe_cast_number('orbital_data__orbital_period') }} as orbital_period_days,
        {{ safe_cast_number('orbital_data__perihelion_distance') }} as perihelion_distance_au,
        {{ safe_cast_number('orbital_data__perihelion_argument') }} as perihelion_argument_deg,
        {{ safe_cast_number('orbital_data__aphelion_distance') }} as aphelion_distance_au,
        {{ safe_cast_number('orbital_data__perihelion_time') }} as perihelion_time_jd,
        {{ safe_cast_number('orbital_data__mean_anomaly') }} as mean_anomaly_deg,
        {{ safe_cast_number('orbital_data__mean_motion') }} as mean_motion_deg_per_day,

        -- booleans
        coalesce(is_potentially_hazardous_asteroid, false) as is_potentially_hazardous,
        coalesce(is_sentry_object, false) as is_sentry_object,

        -- dates
        case
            when orbital_data__first_observation_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
                then orbital_data__first_observation_date::date
        end as first_observation_date,
        case
            when orbital_data__last_observation_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
                then orbital_data__last_observation_date::date
        end as last_observation_date,

        -- timestamps
        case
            when orbital_data__orbit_determination_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
                then (orbital_data__orbit_determination_date::timestamp at time zone 'UTC')
        end as orbit_determined_at,
        {{ dlt_loaded_at() }} as loaded_at

    from deduplicated
)

select * from renamed
{%- endmacro %}
