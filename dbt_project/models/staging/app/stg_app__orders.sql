-- One row per order: the latest version loaded (defensive dedup; the raw merge keys on id).
with

source as (
    select * from {{ relation_or_empty(source('app', 'orders')) }}
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
        id as order_id,
        user_id,

        -- strings
        lower(status) as order_status,

        -- numerics
        amount as amount_usd,

        -- booleans
        lower(status) = 'refunded' as is_refunded,

        -- timestamps
        {{ utc_timestamp(source('app', 'orders'), 'created_at') }} as created_at,
        {{ utc_timestamp(source('app', 'orders'), 'updated_at') }} as updated_at,
        {{ dlt_loaded_at() }} as loaded_at

    from deduplicated
    where version_rank = 1
)

select * from renamed
