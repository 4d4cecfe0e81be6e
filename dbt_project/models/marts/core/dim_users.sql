-- Current state of every user the application database ever had, without PII (e-mail addresses are in
-- marts_pii.dim_users_pii). Deleted users stay, flagged: their transactions still point at them. Purchase
-- totals come from fct_transactions (deduplicated and kept incrementally), not from the staging view, so
-- the daily run does not deduplicate every transaction again.
with

users as (
    select * from {{ ref('stg_app__users') }}
),

deleted_keys as (
    select * from {{ ref('stg_app__deleted_keys') }}
),

transactions as (
    select * from {{ ref('fct_transactions') }}
),

hard_deleted_users as (
    select
        deleted_id as user_id,
        detected_at
    from deleted_keys
    where source_table = 'users' and is_deleted
),

purchases as (
    select
        user_id,
        count(distinct transaction_date) as purchase_day_count,
        count(*) as transaction_count,
        sum(total_cost_usd) as lifetime_spend_usd,
        min(transaction_date) as first_purchase_date,
        max(transaction_date) as last_purchase_date
    from transactions
    group by user_id
),

final as (
    select
        -- ids
        users.user_id,

        -- strings
        users.username::text as username,
        users.country_code::text as country_code,

        -- numerics
        coalesce(purchases.purchase_day_count, 0)::bigint as purchase_day_count,
        coalesce(purchases.transaction_count, 0)::bigint as transaction_count,
        coalesce(purchases.lifetime_spend_usd, 0)::numeric(16, 2) as lifetime_spend_usd,

        -- booleans
        users.is_soft_deleted,
        hard_deleted_users.user_id is not null as is_hard_deleted,
        users.is_soft_deleted or hard_deleted_users.user_id is not null as is_deleted,

        -- dates
        users.created_at::date as signup_date,
        purchases.first_purchase_date,
        purchases.last_purchase_date,

        -- timestamps
        users.created_at,
        users.updated_at,
        users.deleted_at,
        hard_deleted_users.detected_at as hard_deleted_at

    from users
    left join hard_deleted_users
        on users.user_id = hard_deleted_users.user_id
    left join purchases
        on users.user_id = purchases.user_id
)

select * from final
