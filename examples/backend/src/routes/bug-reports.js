'use strict';
const express = require('express');

const SEVERITIES = ['low', 'medium', 'high'];
const MAX_TITLE_LENGTH = 200; // matches the VarChar(200) column
const MAX_DESCRIPTION_LENGTH = 5000;
const LIST_LIMIT = 100;
const MAX_ID = 2147483647; // PostgreSQL integer

function requiredText(body, field, maxLength, errors) {
  const value = body[field];
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    errors.push(`${field} is required`);
  } else if (typeof value !== 'string') {
    errors.push(`${field} must be a string`);
  } else if (value.trim().length > maxLength) {
    errors.push(`${field} must be at most ${maxLength} characters`);
  } else {
    return value.trim();
  }
  return undefined;
}

/** @returns {{ value?: object, error?: string }} */
function validateBugReport(body) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { error: 'send a JSON object (Content-Type: application/json) with title, description and severity' };
  }
  const errors = [];
  const title = requiredText(body, 'title', MAX_TITLE_LENGTH, errors);
  const description = requiredText(body, 'description', MAX_DESCRIPTION_LENGTH, errors);
  const { severity } = body;
  if (severity === undefined || severity === null || severity === '') {
    errors.push('severity is required');
  } else if (!SEVERITIES.includes(severity)) {
    errors.push(`severity must be one of ${SEVERITIES.join(', ')}`);
  }
  return errors.length > 0 ? { error: errors.join('; ') } : { value: { title, description, severity } };
}

function bugReportRoutes({ prisma, triage }) {
  const router = express.Router();

  router.post('/', async (req, res) => {
    const { value, error } = validateBugReport(req.body);
    if (error) return res.status(400).json({ error });
    const report = await prisma.bugReport.create({ data: value });
    await triage.enqueue(report.id);
    return res.status(201).location(`${req.baseUrl}/${report.id}`).json(report);
  });

  router.get('/', async (req, res) => {
    const reports = await prisma.bugReport.findMany({
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: LIST_LIMIT,
    });
    res.json(reports);
  });

  router.get('/:id', async (req, res) => {
    const id = Number(req.params.id);
    if (!/^[1-9]\d*$/.test(req.params.id) || id > MAX_ID) {
      return res.status(400).json({ error: 'id must be a positive integer' });
    }
    const report = await prisma.bugReport.findUnique({ where: { id } });
    if (!report) return res.status(404).json({ error: `bug report ${id} not found` });
    return res.json(report);
  });

  return router;
}

module.exports = { bugReportRoutes };
