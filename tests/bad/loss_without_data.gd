model y = m*x + b
loss mean(m^2 + b^2)
