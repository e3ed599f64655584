"""pre-consultation chats, messages and reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('preconsult_chats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('triage_level', sa.String(length=16), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['ward_id'], ['wards.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('preconsult_chats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preconsult_chats_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_preconsult_chats_ward_id'), ['ward_id'], unique=False)

    op.create_table('preconsult_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('speaker', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('expecting', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['preconsult_chats.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id', 'seq')
    )
    with op.batch_alter_table('preconsult_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preconsult_messages_chat_id'), ['chat_id'], unique=False)

    op.create_table('preconsult_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('triage_level', sa.String(length=16), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=True),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('text_zh', sa.Text(), nullable=False),
    sa.Column('text_en', sa.Text(), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['preconsult_chats.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id')
    )
    with op.batch_alter_table('preconsult_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preconsult_reports_patient_id'), ['patient_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('preconsult_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_preconsult_reports_patient_id'))
    op.drop_table('preconsult_reports')
    with op.batch_alter_table('preconsult_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_preconsult_messages_chat_id'))
    op.drop_table('preconsult_messages')
    with op.batch_alter_table('preconsult_chats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_preconsult_chats_ward_id'))
        batch_op.drop_index(batch_op.f('ix_preconsult_chats_patient_id'))
    op.drop_table('preconsult_chats')
