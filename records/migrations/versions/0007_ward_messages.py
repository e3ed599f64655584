"""ward messages: messages left on the service's phone line (recording, transcript, caller's number)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ward_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('caller_number', sa.String(length=40), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('transcript', sa.Text(), nullable=False),
    sa.Column('audio_ref', sa.String(length=300), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['call_sessions.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ward_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ward_messages_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ward_messages_received_at'), ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ward_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ward_messages_received_at'))
        batch_op.drop_index(batch_op.f('ix_ward_messages_patient_id'))
    op.drop_table('ward_messages')
