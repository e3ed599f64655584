"""call campaigns: call attempts with unique keys and leases

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('scheduled_call_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('try_number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('call_status', sa.String(length=16), nullable=True),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('worker_id', sa.String(length=64), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('telephony_sid', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['call_sessions.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['scheduled_call_id'], ['scheduled_calls.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key'),
    sa.UniqueConstraint('scheduled_call_id', 'try_number')
    )
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_call_attempts_live', ['status', 'lease_expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_attempts_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_attempts_scheduled_call_id'), ['scheduled_call_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_attempts_scheduled_call_id'))
        batch_op.drop_index(batch_op.f('ix_call_attempts_patient_id'))
        batch_op.drop_index('ix_call_attempts_live')
    op.drop_table('call_attempts')
