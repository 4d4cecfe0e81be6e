-- Users as the application database holds them now: hard-deleted users (still in the raw copy, marked
-- in deleted_keys) are left out, so the users snapshot closes their last version.
with

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

present as (
    select users.*
    from users
    left join hard_deleted_users
        on users.user_id = hard_deleted_users.user_id
    where hard_deleted_users.user_id is null
)

select * from present
