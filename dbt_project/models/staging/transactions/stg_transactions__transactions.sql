-- One row per transaction_id. The raw merge already keeps the latest copy of an id; the dedup here
-- guards against duplicates the raw layer can still hold (no key constraint there, replayed load jobs).
with

source as (
    select * from {{ source('transactions', 'transactions') }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by transaction_id
            order by _source_rank desc, _dlt_load_id desc
        ) as copy_rank
    from source
),

renamed as (
    select
        -- ids
        transaction_id,
        user_id,

        -- strings
        _source_file as source_file,
        _dlt_load_id as dlt_load_id,

        -- numerics
        total_cost as total_cost_usd,
        _source_row_number as source_row_number,

        -- dates
        dt as transaction_date,

        -- timestamps
        _source_modified_at as source_modified_at,
        to_timestamp(_dlt_load_id::numeric) as loaded_at

    from deduplicated
    where copy_rank = 1
)

select * from renamed
