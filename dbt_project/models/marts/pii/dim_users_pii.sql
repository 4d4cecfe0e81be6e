-- The personal data of dim_users (e-mail address), in marts_pii: the reporter role cannot read it.
with

users as (
    select * from {{ ref('stg_app__users') }}
),

final as (
    select
        -- ids
        user_id,

        -- strings
        email::text as email,

        -- timestamps
        updated_at

    from users
)

select * from final
