-- One row per transaction_id, one-to-one with the raw table: its primary key (transaction_id) already
-- keeps one copy of each id, the latest by (_source_rank, _dlt_load_id), so staging only renames; the
-- uniqueness test on transaction_id guards the key. A filter on this view (fct_transactions' incremental
-- `loaded_at > ...`) applies to the raw scan directly.
with

source as (
    select * from {{ relation_or_empty(source('transactions', 'transactions')) }}
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
        {{ dlt_loaded_at() }} as loaded_at

    from source
)

select * from renamed
