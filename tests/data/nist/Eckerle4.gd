# NIST StRD Eckerle4 (higher difficulty): y = (b1/b2) * exp[-0.5*((x-b3)/b2)**2] + e
# certified values, data and both starts: Eckerle4.json / Eckerle4.csv
param b1 = 1, b2 = 10, b3 = 500    # NIST start 1
# NIST start 2: b1 = 1.5, b2 = 5, b3 = 450
data x, y
model f = (b1/b2)*exp(-0.5*((x - b3)/b2)^2)
loss sum((f - y)^2)
