-- Every valid transaction with its user's attributes. Transactions of users unknown to the application
-- database (orphans) are kept and flagged, never dropped: revenue must add up to the raw layer.
with

transactions as (
    select * from {{ ref('stg_transactions__transactions') }}
),

users as (
    select * from {{ ref('stg_app__users') }}
),

deleted_keys as (
    select * from {{ ref('stg_app__deleted_keys') }}
),

hard_deleted_users as (
    select deleted_id as user_id
    from deleted_keys
    where source_table = 'users' and is_deleted
),

joined as (
    select
        -- ids
        transactions.transaction_id,
        transactions.user_id,

        -- strings
        users.country_code,
        transactions.source_file,

        -- numerics
        transactions.total_cost_usd,

        -- booleans
        users.user_id is null as is_orphan,
        coalesce(users.is_soft_deleted, false) as is_user_soft_deleted,
        hard_deleted_users.user_id is not null as is_user_hard_deleted,

        -- dates
        transactions.transaction_date,

        -- timestamps
        users.created_at as user_created_at,
        transactions.loaded_at,
        users.loaded_at as user_loaded_at

    from transactions
    left join users
        on transactions.user_id = users.user_id
    left join hard_deleted_users
        on transactions.user_id = hard_deleted_users.user_id
)

select * from joined
