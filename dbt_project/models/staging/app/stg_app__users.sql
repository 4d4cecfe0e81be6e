-- One row per user: the latest version loaded (defensive dedup; the raw merge keys on id).
with

source as (
    select * from {{ relation_or_empty(source('app', 'users')) }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by id
            order by updated_at desc, _dlt_load_id desc
        ) as version_rank
    from source
),

renamed as (
    select
        -- ids
        id as user_id,

        -- strings
        username,
        email,
        upper(country_code) as country_code,

        -- booleans
        deleted_at is not null as is_soft_deleted,

        -- timestamps
        {{ utc_timestamp(source('app', 'users'), 'created_at') }} as created_at,
        {{ utc_timestamp(source('app', 'users'), 'updated_at') }} as updated_at,
        {{ utc_timestamp(source('app', 'users'), 'deleted_at') }} as deleted_at,
        {{ dlt_loaded_at() }} as loaded_at

    from deduplicated
    where version_rank = 1
)

select * from renamed
