-- Current hard-delete status per (table, id). raw_app.deleted_keys only exists once a first deletion
-- was detected: until then this view is empty (relation_or_empty).
with

source as (
    select * from {{ relation_or_empty(source('app', 'deleted_keys')) }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by source_table, id
            order by detected_at desc, _dlt_load_id desc
        ) as version_rank
    from source
),

renamed as (
    select
        -- ids
        id as deleted_id,

        -- strings
        source_table,

        -- booleans
        is_deleted,

        -- timestamps
        detected_at

    from deduplicated
    where version_rank = 1
)

select * from renamed
