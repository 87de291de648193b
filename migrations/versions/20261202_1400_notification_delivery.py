"""notification delivery: outbox status and retry schedule, recorded SMS, the in-app 消息中心

Revision ID: e4c0de5a0804
Revises: d4e0c0de5704
Create Date: 2026-12-02 14:00:00

Messages queued before this revision wait for their first attempt from their creation time; an office's
notices and the units' notifications already queued are copied into the 消息中心.
"""
from alembic import op
import sqlalchemy as sa


revision = 'e4c0de5a0804'
down_revision = 'd4e0c0de5704'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE outbox_message SET next_attempt_at = created_at")
    op.execute("UPDATE outbox_message SET status = 'sent' WHERE sent_at IS NOT NULL")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('next_attempt_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index('ix_outbox_message_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('sms_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox_message.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sms_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_record_outbox_id'), ['outbox_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_record_recorded_at'), ['recorded_at'], unique=False)

    op.create_table('in_app_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(unit_id IS NULL) <> (office_id IS NULL)', name='ck_in_app_message_one_recipient'),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('in_app_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_in_app_message_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_in_app_message_office', ['office_id', 'created_at'], unique=False)
        batch_op.create_index('ix_in_app_message_unit', ['unit_id', 'created_at'], unique=False)

    op.create_table('in_app_message_read',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['in_app_message.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', 'user_id')
    )
    with op.batch_alter_table('in_app_message_read', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_in_app_message_read_user_id'), ['user_id'], unique=False)

    _copy_queued_messages_into_the_message_center()


def _copy_queued_messages_into_the_message_center():
    # An office's notices: delivered in-app (there is nothing else to deliver them to).
    op.execute(
        "INSERT INTO in_app_message (office_id, instance_id, subject, body, created_at)"
        " SELECT office.id, o.instance_id, o.subject, o.body, o.created_at"
        " FROM outbox_message o JOIN office ON office.code = o.recipient WHERE o.channel = 'office' ORDER BY o.id"
    )
    op.execute(
        "UPDATE outbox_message SET status = 'sent', sent_at = created_at"
        " WHERE channel = 'office' AND recipient IN (SELECT code FROM office)"
    )
    op.execute(
        "UPDATE outbox_message SET status = 'failed', last_error = '没有此代码的审核机构'"
        " WHERE channel = 'office' AND status = 'pending'"
    )
    # A unit's notification went out as an SMS and an e-mail with the same text: one message in the centre.
    op.execute(
        "INSERT INTO in_app_message (unit_id, instance_id, subject, body, created_at)"
        " SELECT p.unit_id, o.instance_id, o.subject, o.body, o.created_at"
        " FROM outbox_message o JOIN process_instance p ON p.id = o.instance_id"
        " WHERE o.channel IN ('sms', 'email')"
        " GROUP BY p.unit_id, o.instance_id, o.subject, o.body, o.created_at"
        " ORDER BY MIN(o.id)"
    )


def downgrade():
    with op.batch_alter_table('in_app_message_read', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_in_app_message_read_user_id'))
    op.drop_table('in_app_message_read')
    with op.batch_alter_table('in_app_message', schema=None) as batch_op:
        batch_op.drop_index('ix_in_app_message_unit')
        batch_op.drop_index('ix_in_app_message_office')
        batch_op.drop_index(batch_op.f('ix_in_app_message_instance_id'))
    op.drop_table('in_app_message')
    with op.batch_alter_table('sms_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_record_recorded_at'))
        batch_op.drop_index(batch_op.f('ix_sms_record_outbox_id'))
    op.drop_table('sms_record')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_due')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('status')

